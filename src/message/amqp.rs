//! The only place this module touches lapin: AMQP header tables become JSON [`Headers`], and a
//! lapin delivery becomes an [`Incoming`] for [`super::decode`].
//!
//! Conversion never fails: pika sends long strings and int32s, but other publishers may use any
//! AMQP type, and a header is never a reason to drop a message.

use lapin::message::Delivery;
use lapin::types::{AMQPValue, FieldTable};
use serde_json::{Map, Number, Value};

use super::{Headers, Incoming};

/// Nesting deeper than any real header needs is cut off (as `null`) rather than recursed into.
const MAX_NESTING: usize = 32;

/// Converts an AMQP field table to JSON headers. Strings and byte arrays that are not UTF-8 are
/// converted lossily; floats that JSON cannot represent (NaN, infinities) become `null`.
pub fn headers_from_amqp(table: &FieldTable) -> Headers {
    table
        .inner()
        .iter()
        .map(|(key, value)| (key.as_str().to_owned(), json_from_amqp(value, 0)))
        .collect()
}

/// Borrows what [`super::decode`] needs from a lapin delivery.
pub fn incoming_from_delivery(delivery: &Delivery) -> Incoming<'_> {
    Incoming {
        routing_key: delivery.routing_key.as_str(),
        message_id: delivery
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.as_str()),
        headers: delivery
            .properties
            .headers()
            .as_ref()
            .map(headers_from_amqp)
            .unwrap_or_default(),
        body: &delivery.data,
    }
}

fn json_from_amqp(value: &AMQPValue, depth: usize) -> Value {
    if depth > MAX_NESTING {
        return Value::Null;
    }
    match value {
        AMQPValue::Boolean(flag) => Value::Bool(*flag),
        AMQPValue::ShortShortInt(number) => Value::from(*number),
        AMQPValue::ShortShortUInt(number) => Value::from(*number),
        AMQPValue::ShortInt(number) => Value::from(*number),
        AMQPValue::ShortUInt(number) => Value::from(*number),
        AMQPValue::LongInt(number) => Value::from(*number),
        AMQPValue::LongUInt(number) => Value::from(*number),
        AMQPValue::LongLongInt(number) => Value::from(*number),
        AMQPValue::Timestamp(seconds) => Value::from(*seconds),
        AMQPValue::Float(number) => json_from_f64(f64::from(*number)),
        AMQPValue::Double(number) => json_from_f64(*number),
        AMQPValue::DecimalValue(decimal) => {
            json_from_f64(f64::from(decimal.value) / 10f64.powi(i32::from(decimal.scale)))
        }
        AMQPValue::ShortString(text) => Value::String(text.as_str().to_owned()),
        AMQPValue::LongString(text) => lossy_string(text.as_bytes()),
        AMQPValue::ByteArray(bytes) => lossy_string(bytes.as_slice()),
        AMQPValue::FieldArray(items) => Value::Array(
            items
                .as_slice()
                .iter()
                .map(|item| json_from_amqp(item, depth + 1))
                .collect(),
        ),
        AMQPValue::FieldTable(table) => Value::Object(
            table
                .inner()
                .iter()
                .map(|(key, item)| (key.as_str().to_owned(), json_from_amqp(item, depth + 1)))
                .collect::<Map<String, Value>>(),
        ),
        AMQPValue::Void => Value::Null,
    }
}

fn json_from_f64(number: f64) -> Value {
    Number::from_f64(number).map_or(Value::Null, Value::Number)
}

fn lossy_string(bytes: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use lapin::types::{ByteArray, DecimalValue, FieldArray, LongString, ShortString};
    use serde_json::json;

    use super::*;

    fn table(entries: Vec<(&str, AMQPValue)>) -> FieldTable {
        let mut table = FieldTable::default();
        for (key, value) in entries {
            table.insert(ShortString::from(key), value);
        }
        table
    }

    #[test]
    fn pika_header_types_convert() {
        let headers = headers_from_amqp(&table(vec![
            (
                "fedora_messaging_schema",
                AMQPValue::LongString(LongString::from("pagure.git.receive")),
            ),
            ("fedora_messaging_severity", AMQPValue::LongInt(20)),
            ("fedora_messaging_user_alice", AMQPValue::Boolean(true)),
            ("priority", AMQPValue::LongLongInt(i64::MAX)),
            ("nothing", AMQPValue::Void),
            (
                "sent-at",
                AMQPValue::ShortString(ShortString::from("2019-07-30T19:12:22+00:00")),
            ),
        ]));
        assert_eq!(
            headers["fedora_messaging_schema"],
            json!("pagure.git.receive")
        );
        assert_eq!(headers["fedora_messaging_severity"], json!(20));
        assert_eq!(headers["fedora_messaging_user_alice"], json!(true));
        assert_eq!(headers["priority"], json!(i64::MAX));
        assert_eq!(headers["nothing"], Value::Null);
        assert_eq!(headers["sent-at"], json!("2019-07-30T19:12:22+00:00"));
    }

    #[test]
    fn every_integer_width_converts() {
        let headers = headers_from_amqp(&table(vec![
            ("i8", AMQPValue::ShortShortInt(-8)),
            ("u8", AMQPValue::ShortShortUInt(255)),
            ("i16", AMQPValue::ShortInt(-16)),
            ("u16", AMQPValue::ShortUInt(65535)),
            ("i32", AMQPValue::LongInt(i32::MIN)),
            ("u32", AMQPValue::LongUInt(u32::MAX)),
            ("i64", AMQPValue::LongLongInt(i64::MIN)),
            ("timestamp", AMQPValue::Timestamp(u64::MAX)),
        ]));
        assert_eq!(headers["i8"], json!(-8));
        assert_eq!(headers["u8"], json!(255));
        assert_eq!(headers["i16"], json!(-16));
        assert_eq!(headers["u16"], json!(65535));
        assert_eq!(headers["i32"], json!(i32::MIN));
        assert_eq!(headers["u32"], json!(u32::MAX));
        assert_eq!(headers["i64"], json!(i64::MIN));
        assert_eq!(headers["timestamp"], json!(u64::MAX));
    }

    #[test]
    fn floats_decimals_and_bytes_convert_defensively() {
        let headers = headers_from_amqp(&table(vec![
            ("float", AMQPValue::Float(1.5)),
            ("nan", AMQPValue::Double(f64::NAN)),
            (
                "decimal",
                AMQPValue::DecimalValue(DecimalValue {
                    scale: 2,
                    value: 12345,
                }),
            ),
            (
                "bytes",
                AMQPValue::ByteArray(ByteArray::from(vec![b'o', b'k', 0xff])),
            ),
            (
                "bad_utf8",
                AMQPValue::LongString(LongString::from(vec![0xc3, 0x28])),
            ),
        ]));
        assert_eq!(headers["float"], json!(1.5));
        assert_eq!(headers["nan"], Value::Null);
        assert_eq!(headers["decimal"], json!(123.45));
        assert_eq!(headers["bytes"], json!("ok\u{fffd}"));
        assert_eq!(headers["bad_utf8"], json!("\u{fffd}("));
    }

    #[test]
    fn nested_tables_and_arrays_convert() {
        let inner = table(vec![("flag", AMQPValue::Boolean(false))]);
        let array = FieldArray::from(vec![
            AMQPValue::LongInt(1),
            AMQPValue::FieldTable(inner.clone()),
        ]);
        let headers = headers_from_amqp(&table(vec![
            ("table", AMQPValue::FieldTable(inner)),
            ("array", AMQPValue::FieldArray(array)),
        ]));
        assert_eq!(headers["table"], json!({"flag": false}));
        assert_eq!(headers["array"], json!([1, {"flag": false}]));
    }

    #[test]
    fn pathological_nesting_is_cut_off() {
        let mut value = AMQPValue::Boolean(true);
        for _ in 0..(MAX_NESTING * 4) {
            value = AMQPValue::FieldArray(FieldArray::from(vec![value]));
        }
        let headers = headers_from_amqp(&table(vec![("deep", value)]));
        let mut cursor = &headers["deep"];
        let mut depth = 0;
        while let Value::Array(items) = cursor {
            cursor = &items[0];
            depth += 1;
        }
        assert_eq!(depth, MAX_NESTING + 1);
        assert_eq!(*cursor, Value::Null);
    }
}

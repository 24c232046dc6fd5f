//! Just enough DER to read a certificate's subject CN (mod_ssl's `SSL_CLIENT_S_DN_CN`), so the fake
//! hub derives the user name from the certificate rather than being told it.

/// OID 2.5.4.3 (commonName), DER-encoded contents.
const COMMON_NAME_OID: [u8; 3] = [0x55, 0x04, 0x03];

/// One TLV: (tag, contents, rest).
fn read_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let length = bytes
            .iter()
            .fold(0usize, |length, byte| (length << 8) | usize::from(*byte));
        (length, rest)
    };
    if rest.len() < length {
        return None;
    }
    let (contents, rest) = rest.split_at(length);
    Some((tag, contents, rest))
}

/// Certificate → tbsCertificate → [version] serial signature issuer validity **subject**.
pub fn subject_common_name(certificate: &[u8]) -> Option<String> {
    let (_, cert, _) = read_tlv(certificate)?;
    let (_, tbs, _) = read_tlv(cert)?;
    let (tag, _, mut rest) = read_tlv(tbs)?;
    if tag == 0xa0 {
        rest = read_tlv(rest)?.2; // the version was explicit; skip the serial too
    }
    let (_, _, rest) = read_tlv(rest)?; // signature algorithm
    let (_, _, rest) = read_tlv(rest)?; // issuer
    let (_, _, rest) = read_tlv(rest)?; // validity
    let (_, mut subject, _) = read_tlv(rest)?;
    while !subject.is_empty() {
        let (_, set, next) = read_tlv(subject)?;
        subject = next;
        let (_, attribute, _) = read_tlv(set)?;
        let (_, oid, value) = read_tlv(attribute)?;
        if oid == COMMON_NAME_OID {
            let (_, text, _) = read_tlv(value)?;
            return String::from_utf8(text.to_vec()).ok();
        }
    }
    None
}

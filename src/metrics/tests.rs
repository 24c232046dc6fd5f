//! The exposition: names, labels and values as Prometheus reads them.

use super::*;
use crate::status::PipelineReport;
use std::time::{Duration, SystemTime};

fn encoded(metrics: &Metrics) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &metrics.registry()).expect("encode");
    text
}

fn report(reconnects: u64, active: &[(&str, u64)], needs_attention: u64) -> StatusReport {
    let mut report = crate::status::tests::connected_report("0/1");
    if let Some(bus) = report.bus.as_mut() {
        bus.reconnects = reconnects;
    }
    report.store.size_bytes = 4096;
    report.pipelines = PipelineReport {
        total: 9,
        active_by_state: active.iter().map(|(s, n)| ((*s).to_owned(), *n)).collect(),
        retrying: 1,
        inbox: 2,
        needs_attention,
        by_state: active.iter().map(|(s, n)| ((*s).to_owned(), *n)).collect(),
    };
    report
}

#[test]
fn batches_count_by_topic_and_outcome_and_remote_calls_by_method_and_outcome() {
    let metrics = Metrics::new();
    metrics.count_batch(
        [
            ("pagure.git.receive", MessageOutcome::Recorded),
            ("pagure.git.receive", MessageOutcome::Recorded),
            ("buildsys.tag", MessageOutcome::Duplicate),
            ("weird\"topic", MessageOutcome::Rejected),
        ],
        1_700_000_000,
    );
    metrics.koji.record("build", OK, Duration::from_millis(120));
    metrics
        .bodhi
        .record("GET /updates/", "timeout", Duration::from_secs(30));
    let text = encoded(&metrics);
    for line in [
        "fedflow_amqp_messages_total{topic=\"pagure.git.receive\",outcome=\"recorded\"} 2",
        "fedflow_amqp_messages_total{topic=\"buildsys.tag\",outcome=\"duplicate\"} 1",
        "fedflow_amqp_messages_total{topic=\"weird\\\"topic\",outcome=\"rejected\"} 1",
        "fedflow_amqp_last_message_timestamp_seconds 1700000000",
        "fedflow_koji_calls_total{method=\"build\",outcome=\"ok\"} 1",
        "fedflow_koji_call_duration_seconds_count{method=\"build\"} 1",
        "fedflow_bodhi_calls_total{method=\"GET /updates/\",outcome=\"timeout\"} 1",
        "fedflow_build_info{version=\"",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn state_mirrors_the_last_report_and_emptied_states_disappear() {
    let metrics = Metrics::new();
    metrics.observe_report(&report(
        3,
        &[("building", 2), ("submitted", 1), ("built", 5)],
        1,
    ));
    let text = encoded(&metrics);
    for line in [
        "fedflow_pipelines{state=\"building\"} 2",
        "fedflow_pipelines{state=\"built\"} 5",
        "fedflow_pipelines{state=\"needs_attention\"} 1",
        "fedflow_pipelines_retrying 1",
        "fedflow_pipelines_stored 9",
        "fedflow_pipeline_inbox_items 2",
        "fedflow_store_size_bytes 4096",
        "fedflow_amqp_connected 1",
        "fedflow_amqp_reconnects_total 3",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    metrics.observe_report(&report(4, &[("submitted", 1)], 0));
    let text = encoded(&metrics);
    assert!(!text.contains("state=\"building\""), "{text}");
    assert!(text.contains("fedflow_amqp_reconnects_total 4"), "{text}");
}

#[test]
fn consume_lag_is_now_minus_sent_at_and_a_bad_header_changes_nothing() {
    let metrics = Metrics::new();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_090);
    // 1_700_000_000 is 2023-11-14T22:13:20Z.
    metrics.observe_sent_at("2023-11-14T22:13:20+00:00", now);
    assert!(encoded(&metrics).contains("fedflow_amqp_consume_lag_seconds 90.0"));
    metrics.observe_sent_at("yesterday", now);
    assert!(encoded(&metrics).contains("fedflow_amqp_consume_lag_seconds 90.0"));
}

#[test]
fn copr_builds_mirror_the_stores_counts() {
    let metrics = Metrics::new();
    let counts = |n: u64| {
        [
            (("@python/python3.8".to_owned(), "failed".to_owned()), n),
            (("packit/hello".to_owned(), "succeeded".to_owned()), 7),
        ]
        .into_iter()
        .collect::<BTreeMap<_, _>>()
    };
    metrics.observe_copr_counts(&counts(1));
    metrics.observe_copr_counts(&counts(2));
    let text = encoded(&metrics);
    for line in [
        "fedflow_copr_builds_total{project=\"@python/python3.8\",status=\"failed\"} 2",
        "fedflow_copr_builds_total{project=\"packit/hello\",status=\"succeeded\"} 7",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
}

#[test]
fn the_shard_is_an_info_metric_with_index_and_count() {
    let text = encoded(&Metrics::new());
    assert!(
        text.contains("fedflow_shard_info{index=\"0\",count=\"1\"} 1"),
        "{text}"
    );
    let shard = "2/3".parse().expect("valid shard");
    let text = encoded(&Metrics::for_shard(shard));
    assert!(
        text.contains("fedflow_shard_info{index=\"2\",count=\"3\"} 1"),
        "{text}"
    );
}

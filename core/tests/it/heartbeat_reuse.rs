//! `Heartbeat::deserialize_reusing` (parsing into an old heartbeat's
//! buffers) against the derived `Deserialize`: the same value for every
//! heartbeat, whatever the old one held, and the same error, message and
//! position included, for malformed bodies.

use proptest::prelude::*;
use trainyard_core::{GpuProcess, GpuStats, Heartbeat, SystemStats};

fn fresh(json: &str) -> Result<Heartbeat, String> {
    serde_json::from_str(json).map_err(|e| e.to_string())
}

/// What the server does: parse into `old`'s buffers, then insist on the end
/// of the text, as `serde_json::from_str` does.
fn reusing(old: &Heartbeat, json: &str) -> Result<Heartbeat, String> {
    let mut place = old.clone();
    let mut de = serde_json::Deserializer::from_str(json);
    Heartbeat::deserialize_reusing(&mut de, &mut place)
        .and_then(|()| de.end())
        .map(|()| place)
        .map_err(|e| e.to_string())
}

fn text() -> impl Strategy<Value = String> {
    // Plain names, escapes and non-ASCII, and the empty string.
    prop_oneof![
        "[a-z0-9._-]{0,12}",
        "[ -~]{0,8}",
        Just("tab\there \"quoted\" \\ slash".to_string()),
        Just("GPU-ünï-☃".to_string()),
    ]
}

fn finite() -> impl Strategy<Value = f32> {
    (0u32..100_000).prop_map(|n| n as f32 / 100.0)
}

fn process() -> impl Strategy<Value = GpuProcess> {
    (any::<u32>(), text(), any::<u64>()).prop_map(|(pid, name, memory_bytes)| GpuProcess {
        pid,
        name,
        memory_bytes,
    })
}

fn gpu() -> impl Strategy<Value = GpuStats> {
    (
        (any::<u32>(), text(), text(), finite()),
        (any::<u64>(), any::<u64>()),
        (
            proptest::option::of(finite()),
            proptest::option::of(finite()),
            proptest::option::of(finite()),
        ),
        proptest::collection::vec(process(), 0..3),
    )
        .prop_map(
            |((index, uuid, name, util), (used, total), (temp, power, limit), processes)| {
                GpuStats {
                    index,
                    uuid,
                    name,
                    utilization_percent: util,
                    memory_used_bytes: used,
                    memory_total_bytes: total,
                    temperature_c: temp,
                    power_watts: power,
                    power_limit_watts: limit,
                    processes,
                }
            },
        )
}

fn heartbeat() -> impl Strategy<Value = Heartbeat> {
    (
        (0u32..4, text(), text(), text()),
        (finite(), any::<u32>(), any::<[u64; 4]>()),
        proptest::collection::vec(gpu(), 0..5),
        proptest::option::of(text()),
    )
        .prop_map(
            |((version, host_id, hostname, agent_version), (cpu, cpus, sizes), gpus, gpu_error)| {
                Heartbeat {
                    protocol_version: version,
                    host_id,
                    hostname,
                    agent_version,
                    system: SystemStats {
                        cpu_percent: cpu,
                        cpu_count: cpus,
                        memory_used_bytes: sizes[0],
                        memory_total_bytes: sizes[1],
                        disk_used_bytes: sizes[2],
                        disk_total_bytes: sizes[3],
                    },
                    gpus,
                    gpu_error,
                }
            },
        )
}

/// Turns a valid body into a likely malformed one: a span cut out, or a
/// piece of JSON syntax (or a duplicated field) put in.
fn damage(json: &str, at: usize, len: usize, kind: u8) -> String {
    let mut cut = at.min(json.len());
    while !json.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut end = (cut + len).min(json.len());
    while !json.is_char_boundary(end) {
        end -= 1;
    }
    let insert = match kind % 8 {
        0 => "",
        1 => "\"",
        2 => ",",
        3 => "null",
        4 => "{",
        5 => "]",
        6 => "\"host_id\":\"x\",",
        _ => "\"index\":1,",
    };
    let (head, tail) = if kind.is_multiple_of(2) {
        (&json[..cut], &json[end..])
    } else {
        (&json[..cut], &json[cut..])
    };
    format!("{head}{insert}{tail}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn reusing_any_old_heartbeat_gives_the_fresh_parse(old in heartbeat(), new in heartbeat()) {
        let json = serde_json::to_string(&new).expect("it serializes");
        prop_assert_eq!(reusing(&old, &json), Ok(new));
    }

    #[test]
    fn malformed_bodies_fail_alike(
        old in heartbeat(),
        new in heartbeat(),
        at in 0usize..2000,
        len in 0usize..8,
        kind in any::<u8>(),
    ) {
        let json = damage(&serde_json::to_string(&new).expect("it serializes"), at, len, kind);
        prop_assert_eq!(reusing(&old, &json), fresh(&json), "{}", json);
    }
}

#[test]
fn absent_fields_are_reset_to_their_defaults() {
    let old = Heartbeat {
        protocol_version: 1,
        host_id: "old".into(),
        hostname: "old.lab".into(),
        agent_version: "0.0.9".into(),
        system: SystemStats {
            cpu_percent: 50.0,
            ..Default::default()
        },
        gpus: vec![GpuStats {
            index: 3,
            name: "old GPU".into(),
            temperature_c: Some(60.0),
            processes: vec![GpuProcess {
                pid: 7,
                name: "python".into(),
                memory_bytes: 1,
            }],
            ..Default::default()
        }],
        gpu_error: Some("old error".into()),
    };
    for json in [
        r#"{"protocol_version":1,"host_id":"h"}"#,
        r#"{"protocol_version":1,"host_id":"h","gpus":[{"index":0}]}"#,
        r#"{"protocol_version":1,"host_id":"h","gpus":[{"index":0,"processes":[{"pid":1}]}]}"#,
        r#"{"host_id":"h","unknown":[1,{"a":null}],"protocol_version":2,"gpu_error":null}"#,
    ] {
        assert_eq!(reusing(&old, json), fresh(json), "{json}");
        assert!(fresh(json).is_ok(), "{json}");
    }
}

#[test]
fn positional_structs_are_read_as_the_derived_impl_reads_them() {
    let old = Heartbeat {
        gpus: vec![GpuStats::default(); 2],
        ..Default::default()
    };
    let json = r#"{"protocol_version":1,"host_id":"h",
        "gpus":[[0,"GPU-1","H100",50.0,1,2,null,null,700.0,[[42,"python",1]]],{"index":1}]}"#;
    let parsed = fresh(json).expect("the derived impl reads arrays as structs");
    assert_eq!(parsed.gpus[0].processes[0].pid, 42);
    assert_eq!(reusing(&old, json), Ok(parsed));
    let whole = r#"[1,"h","h.lab","0.1",{"cpu_percent":1.0},[],null]"#;
    assert_eq!(reusing(&old, whole), fresh(whole));
}

#[test]
fn errors_name_what_is_wrong_like_the_derived_impl() {
    let old = Heartbeat::default();
    for (json, says) in [
        (r#"{"protocol_version":1}"#, "missing field `host_id`"),
        (r#"{"host_id":"h"}"#, "missing field `protocol_version`"),
        (
            r#"{"protocol_version":1,"host_id":"h","host_id":"i"}"#,
            "duplicate field `host_id`",
        ),
        (
            r#"{"protocol_version":1,"host_id":"h","gpus":[{"index":0,"index":1}]}"#,
            "duplicate field `index`",
        ),
        (
            r#"{"protocol_version":1,"host_id":"h","gpus":[{"uuid":"u"}]}"#,
            "missing field `index`",
        ),
        (
            r#"{"protocol_version":1,"host_id":"h","gpus":[{"index":0,"processes":[{"name":"p"}]}]}"#,
            "missing field `pid`",
        ),
        (
            r#"{"protocol_version":1,"host_id":null}"#,
            "invalid type: null, expected a string",
        ),
        (
            r#"{"protocol_version":1,"host_id":"h","gpus":{}}"#,
            "invalid type: map, expected a sequence",
        ),
        (
            r#"{"protocol_version":1,"host_id":"h","gpus":[{"index":-1}]}"#,
            "invalid value: integer `-1`, expected u32",
        ),
        ("[]", "invalid length 0, expected struct Heartbeat"),
        ("3", "invalid type: integer `3`, expected struct Heartbeat"),
        (
            r#"{"protocol_version":1,"host_id":"h"} x"#,
            "trailing characters",
        ),
    ] {
        let err = reusing(&old, json).expect_err(json);
        assert!(err.contains(says), "{json}: {err}");
        assert_eq!(Err(err), fresh(json), "{json}");
    }
}

#[test]
fn a_heartbeat_of_the_same_shape_reuses_every_buffer() {
    let body = |host: &str, gpus: u32| Heartbeat {
        protocol_version: 1,
        host_id: host.into(),
        hostname: format!("{host}.cluster.internal"),
        agent_version: "0.1.0".into(),
        system: SystemStats::default(),
        gpus: (0..gpus)
            .map(|index| GpuStats {
                index,
                uuid: format!("GPU-{index:08x}-0000-0000-0000-000000000000"),
                name: "NVIDIA H100 80GB HBM3".into(),
                processes: vec![GpuProcess {
                    pid: 1000 + index,
                    name: "python".into(),
                    memory_bytes: 1,
                }],
                ..Default::default()
            })
            .collect(),
        gpu_error: None,
    };
    let mut place = body("bench-00001", 8);
    let before: Vec<*const u8> = pointers(&place);
    let json = serde_json::to_string(&body("bench-00002", 8)).expect("it serializes");
    let mut de = serde_json::Deserializer::from_str(&json);
    Heartbeat::deserialize_reusing(&mut de, &mut place).expect("it parses");
    assert_eq!(place, body("bench-00002", 8));
    assert_eq!(
        pointers(&place),
        before,
        "no string or list was reallocated"
    );
}

/// Where each string and list of `hb` keeps its bytes.
fn pointers(hb: &Heartbeat) -> Vec<*const u8> {
    let mut p = vec![
        hb.host_id.as_ptr(),
        hb.hostname.as_ptr(),
        hb.agent_version.as_ptr(),
        hb.gpus.as_ptr().cast(),
    ];
    for g in &hb.gpus {
        p.extend([
            g.uuid.as_ptr(),
            g.name.as_ptr(),
            g.processes.as_ptr().cast(),
        ]);
        p.extend(g.processes.iter().map(|q| q.name.as_ptr()));
    }
    p
}

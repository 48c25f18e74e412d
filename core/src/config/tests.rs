use super::*;
use crate::job::Priority;

fn parse(src: &str) -> Experiment {
    parse_experiment(src).unwrap_or_else(|e| panic!("{src:?} failed:\n{e}"))
}

fn errors(src: &str) -> Vec<ConfigError> {
    match parse_experiment(src) {
        Ok(_) => panic!("{src:?} parsed but should not"),
        Err(e) => e.0,
    }
}

#[test]
fn reserved_keys_fill_scheduling_and_are_not_axes() {
    let exp = parse(
        "project: cifar\nname: lr{{lr}}\ncommand: [python, train.py, --config, '{config}']\n\
         workdir: exp/a\ngpus: 2\npriority: high\nhost: gpu-01\nretries: 3\ntimeout: 2h\nlr: [0.1, 0.2]\n",
    );
    let s = &exp.scheduling;
    assert_eq!(s.project.as_deref(), Some("cifar"));
    assert_eq!(s.name_template.as_deref(), Some("lr{{lr}}"));
    assert_eq!(
        s.command.as_deref(),
        Some(&["python", "train.py", "--config", "{config}"].map(String::from)[..])
    );
    assert_eq!(s.workdir.as_deref(), Some("exp/a"));
    assert_eq!((s.gpus, s.retries, s.timeout_secs), (2, 3, Some(7200)));
    assert_eq!(s.priority, Some(Priority::High));
    assert_eq!(s.host.as_deref(), Some("gpu-01"));
    assert_eq!(exp.axes.len(), 1);
}

#[test]
fn defaults_apply_when_reserved_keys_are_absent() {
    let s = parse("epochs: 3\n").scheduling;
    assert_eq!(s, Scheduling::default());
    assert_eq!((s.gpus, s.retries, s.command), (1, 0, None));
}

#[test]
fn command_strings_split_like_a_shell() {
    let exp = parse("command: python main.py --config {config} --tag \"a b\"\n");
    assert_eq!(
        exp.scheduling.command,
        Some(
            ["python", "main.py", "--config", "{config}", "--tag", "a b"]
                .map(String::from)
                .to_vec()
        )
    );
    let e = errors("command: ''\n");
    assert_eq!(e[0].field.as_deref(), Some("command"));
}

#[test]
fn invalid_yaml_reports_line_and_column() {
    let e = errors("epochs: 3\nlr: [0.1, 0.2\nbatch: 4\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].message.starts_with("invalid YAML"), "{}", e[0]);
    assert_eq!(e[0].line, Some(3));
    assert!(e[0].column.is_some());
    let e = errors("a: 1\n b: 2\n");
    assert_eq!((e[0].line, e[0].column), (Some(2), Some(3)), "{}", e[0]);
}

#[test]
fn a_top_level_that_is_not_a_mapping_is_refused_at_line_one() {
    for src in ["- a\n- b\n", "just text\n", "", "# only a comment\n"] {
        let e = errors(src);
        assert_eq!((e[0].line, e[0].column), (Some(1), Some(1)), "{src:?}");
        assert!(e[0].message.contains("mapping"));
    }
}

#[test]
fn bad_reserved_values_name_the_field_and_place() {
    let e = errors("priority: urgent\ngpus: -1\nretries: two\n");
    assert_eq!(e.len(), 3, "{e:?}");
    assert_eq!(e[0].field.as_deref(), Some("priority"));
    assert!(e[0].message.contains("high, normal or low"), "{}", e[0]);
    assert_eq!((e[0].line, e[0].column), (Some(1), Some(11)));
    assert_eq!(e[1].field.as_deref(), Some("gpus"));
    assert_eq!(e[1].line, Some(2));
    assert_eq!(e[2].field.as_deref(), Some("retries"));
    assert_eq!(errors("gpus: \"two\"\n")[0].field.as_deref(), Some("gpus"));
    assert_eq!(errors("gpus: [1, 2]\n")[0].field.as_deref(), Some("gpus"));
}

#[test]
fn path_like_project_host_and_workdir_are_refused() {
    for (src, field) in [
        ("project: ../x\n", "project"),
        ("project: .hidden\n", "project"),
        ("project: a/b\n", "project"),
        ("host: a/b\n", "host"),
        ("workdir: ../up\n", "workdir"),
        ("timeout: soon\n", "timeout"),
        ("name: ../x\n", "name"),
    ] {
        let e = errors(src);
        assert_eq!(e[0].field.as_deref(), Some(field), "{src:?}: {e:?}");
        assert_eq!(e[0].line, Some(1));
    }
}

#[test]
fn an_empty_list_is_a_value_as_in_cvlabkit() {
    let exp = parse("epochs: 3\noptimizer:\n  lr: []\n");
    assert!(exp.axes.is_empty());
    assert_eq!(exp.run_count(), 1);
    assert_eq!(
        exp.value_at("optimizer.lr"),
        Some(crate::config::Value::List(Vec::new()))
    );
}

#[test]
fn a_tagged_sequence_is_a_value_kept_with_its_tag() {
    let exp = parse("command: x\nbetas: !!python/tuple [0.9, 0.999]\nlr: [0.1, 0.2]\n");
    assert_eq!(exp.run_count(), 2, "only lr is an axis");
    let runs = exp.expand(&SweepLimits::default()).expect("it expands");
    let yaml = &runs[0].config_yaml;
    assert!(yaml.contains("betas: !!python/tuple"), "{yaml}");
    assert!(
        yaml.contains("0.999") && !yaml.contains("lr: [0.1"),
        "{yaml}"
    );
}

#[test]
fn all_errors_are_returned_in_source_order() {
    let e = errors("gpus: x\nretries: many\nname: '{{nope}}'\npriority: meh\n");
    let lines: Vec<_> = e.iter().map(|e| e.line).collect();
    assert_eq!(lines, [Some(1), Some(2), Some(3), Some(4)]);
}

#[test]
fn unknown_placeholders_are_errors_with_their_column() {
    let e = errors("lr: [1, 2]\nname: \"run-{{optimizer.lr}}\"\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].message.contains("{{optimizer.lr}}"), "{}", e[0]);
    assert_eq!((e[0].line, e[0].column), (Some(2), Some(12)));
    assert_eq!(e[0].field.as_deref(), Some("name"));
}

#[test]
fn quoted_strings_and_call_syntax_are_not_axes() {
    let exp = parse("a: \"[1, 2]\"\nb: resnet(layers=[1,2])\nc: '[x]'\n");
    assert!(exp.axes.is_empty());
    assert_eq!(exp.run_count(), 1);
    assert_eq!(
        exp.value_at("b"),
        Some(Value::String("resnet(layers=[1,2])".into()))
    );
}

#[test]
fn calls_inside_a_flow_list_are_whole_values() {
    let exp = parse("model: [resnet(layers=[1,2]), vgg(depth=16, cfg={a: 1})]\n");
    assert_eq!(
        exp.axes[0].values,
        ["resnet(layers=[1,2])", "vgg(depth=16, cfg={a: 1})"]
    );
    let runs = exp.expand(&SweepLimits::default()).unwrap_or_default();
    assert_eq!(runs.len(), 2);
    let again = parse(&runs[1].config_yaml);
    assert_eq!(
        again.value_at("model"),
        Some(Value::String("vgg(depth=16, cfg={a: 1})".into()))
    );
}

#[test]
fn expansion_orders_runs_first_axis_slowest_and_preserves_types() {
    let exp = parse("epochs: 5\nopt:\n  lr: [0.1, 0.01]\n  kind: adam\nbs: [32, '64']\n");
    let runs = exp.expand(&SweepLimits::default()).unwrap_or_default();
    let params: Vec<_> = runs.iter().map(|r| r.params.clone()).collect();
    let p = |lr: &str, bs: &str| {
        vec![
            ("opt.lr".to_string(), lr.to_string()),
            ("bs".into(), bs.into()),
        ]
    };
    assert_eq!(
        params,
        [
            p("0.1", "32"),
            p("0.1", "64"),
            p("0.01", "32"),
            p("0.01", "64")
        ]
    );
    let last = parse(&runs[3].config_yaml);
    assert_eq!(last.value_at("opt.lr"), Some(Value::Float(0.01)));
    assert_eq!(last.value_at("bs"), Some(Value::String("64".into())));
    assert_eq!(last.value_at("epochs"), Some(Value::Int(5)));
    assert_eq!(
        last.value_at("opt.kind"),
        Some(Value::String("adam".into()))
    );
    assert!(last.axes.is_empty());
}

#[test]
fn generated_names_are_readable_and_unique() {
    let exp = parse("project: cifar\noptimizer:\n  lr: [0.1, 0.01]\nbatch_size: [32, 32]\n");
    let names: Vec<_> = exp.preview(10).into_iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        [
            "cifar-lr=0.1-batch_size=32",
            "cifar-lr=0.1-batch_size=32-2",
            "cifar-lr=0.01-batch_size=32",
            "cifar-lr=0.01-batch_size=32-2"
        ]
    );
    assert_eq!(parse("epochs: 1\n").preview(5)[0].name, "run");
    let long = parse(&format!("x: [{}, b]\n", "a".repeat(80)));
    let names: Vec<_> = long.preview(5).into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["run-1", "run-x=b"]);
}

#[test]
fn template_names_fill_from_any_key_and_get_deduplicated() {
    let exp = parse("name: '{{model.kind}}-lr{{lr}}'\nmodel: {kind: vit}\nlr: [1, 1, 2]\n");
    let runs = exp.expand(&SweepLimits::default()).unwrap_or_default();
    let names: Vec<_> = runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["vit-lr1", "vit-lr1-2", "vit-lr2"]);
    let resolved = parse(&runs[1].config_yaml);
    assert_eq!(
        resolved.scheduling.name_template.as_deref(),
        Some("vit-lr1-2")
    );
}

#[test]
fn template_values_are_sanitized_into_safe_names() {
    let exp = parse("name: 'd-{{data}}'\ndata: [a/b, ../c, x y]\n");
    let names: Vec<_> = exp.preview(5).into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["d-a_b", "d-.__c", "d-x_y"]);
    let name = parse("name: \"{{data}}\"\ndata: [.git]\n").preview(1)[0]
        .name
        .clone();
    assert_eq!(name, "_.git");
}

#[test]
fn the_cap_is_checked_before_expanding_and_names_count_and_limit() {
    let axis = "[1, 2, 3, 4, 5, 6]";
    let exp = parse(&format!("a: {axis}\nb: {axis}\nc: {axis}\nd: {axis}\n"));
    assert_eq!(exp.run_count(), 1296);
    let e = exp
        .expand(&SweepLimits::default())
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("this sweep has 1,296 runs; the limit is 1,000 (server setting --max-sweep-size)")
    );
    assert_eq!(
        exp.expand(&SweepLimits { max_runs: 1296 }).map(|r| r.len()),
        Ok(1296)
    );
}

#[test]
fn huge_sweeps_are_counted_without_expanding() {
    let ten = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]";
    let src: String = (0..12).map(|i| format!("k{i}: {ten}\n")).collect();
    let exp = parse(&src);
    assert_eq!(exp.run_count(), 1_000_000_000_000);
    assert_eq!(exp.preview(3).len(), 3);
    assert!(exp.check_limits(&SweepLimits::default()).is_err());
    let src: String = (0..30).map(|i| format!("k{i}: {ten}\n")).collect();
    let exp = parse(&src);
    assert_eq!(exp.run_count(), u64::MAX);
    let msg = exp
        .check_limits(&SweepLimits::default())
        .err()
        .map(|e| e.to_string());
    assert!(msg.is_some_and(|m| m.contains("more than 18,446,744,073,709,551,615 runs")));
}

#[test]
fn example_configs_parse_and_expand() {
    let sweep = parse(include_str!("../../../examples/sweep.yaml"));
    let runs = sweep.expand(&SweepLimits::default()).unwrap_or_default();
    let names: Vec<_> = runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["lr0.1-bs32", "lr0.1-bs64", "lr0.01-bs32", "lr0.01-bs64"]
    );
    assert_eq!(sweep.scheduling.gpus, 0);
    assert_eq!(
        sweep.scheduling.command,
        Some(vec!["python3".to_string(), "examples/train.py".into()])
    );
    let single = parse(include_str!("../../../examples/single.yaml"));
    assert_eq!(
        single.expand(&SweepLimits::default()).map(|r| r.len()),
        Ok(1)
    );
}

#[test]
fn error_types_round_trip_through_json() {
    let e = errors("priority: urgent\n");
    let json = serde_json::to_string(&ConfigErrors(e.clone())).unwrap_or_default();
    let back: ConfigErrors = serde_json::from_str(&json).unwrap_or(ConfigErrors(vec![]));
    assert_eq!(back.0, e);
}

#[test]
fn a_device_list_asks_for_that_many_gpus_and_is_not_an_axis() {
    let exp = parse("device: [0, 1, 2, 3]\nlr: [0.1, 0.2]\n");
    let s = &exp.scheduling;
    assert_eq!((s.gpus, s.device.as_slice()), (4, &[0, 1, 2, 3][..]));
    assert_eq!(exp.run_count(), 2, "only lr is an axis");
    // The script still reads its own `device:` from the resolved config.
    let runs = exp.expand(&SweepLimits { max_runs: 8 }).unwrap_or_default();
    assert!(
        runs[0].config_yaml.contains("device:"),
        "{}",
        runs[0].config_yaml
    );
    // A scalar device is the script's own setting.
    let s = parse("device: cuda\n").scheduling;
    assert_eq!((s.gpus, s.device.len()), (1, 0));
    // gpus and device may both be given when they agree.
    assert_eq!(parse("gpus: 2\ndevice: [4, 5]\n").scheduling.gpus, 2);
}

#[test]
fn bad_device_lists_name_the_field_and_line() {
    for (src, needle) in [
        ("epochs: 1\ndevice: [0, 0]\n", "twice"),
        ("epochs: 1\ndevice: []\n", "lists no GPU"),
        ("epochs: 1\ndevice: [0, cuda]\n", "GPU indices"),
        ("epochs: 1\ndevice: [0, -1]\n", "GPU indices"),
        (
            "epochs: 1\ngpus: 1\ndevice: [0, 1]\n",
            "lists 2 GPU(s) but `gpus: 1`",
        ),
    ] {
        let e = errors(src);
        assert_eq!(e[0].field.as_deref(), Some("device"), "{src}");
        assert!(e[0].message.contains(needle), "{src}: {}", e[0].message);
        assert!(e[0].line.is_some_and(|l| l >= 2), "{src}: {:?}", e[0]);
    }
}

#[test]
fn launcher_torchrun_is_read_and_others_are_refused() {
    let s = parse("launcher: torchrun\ngpus: 2\n").scheduling;
    assert_eq!(s.launcher, Some(Launcher::Torchrun));
    let e = errors("launcher: deepspeed\n");
    assert_eq!(e[0].field.as_deref(), Some("launcher"));
    assert!(e[0].message.contains("torchrun"), "{}", e[0].message);
    let e = errors("gpus: 0\nlauncher: torchrun\n");
    assert_eq!(e[0].field.as_deref(), Some("launcher"));
    assert_eq!(e[0].line, Some(2));
    let e = errors("launcher: [torchrun, x]\n");
    assert_eq!(e[0].field.as_deref(), Some("launcher"));
}

use super::*;
use crate::config::{ConfigErrors, SweepLimits};
use std::collections::BTreeMap;

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(yaml: &str) -> Catalog {
    match parse_catalog(yaml, &no_env) {
        Ok(c) => c,
        Err(e) => panic!("catalog should parse:\n{e}"),
    }
}

fn errors(yaml: &str) -> ConfigErrors {
    match parse_catalog(yaml, &no_env) {
        Ok(_) => panic!("catalog should be refused:\n{yaml}"),
        Err(e) => e,
    }
}

/// The (line, field) of each error, and fails unless one mentions `needle`.
fn has(errs: &ConfigErrors, line: u32, field: &str, needle: &str) {
    assert!(
        errs.0.iter().any(|e| e.line == Some(line)
            && e.field.as_deref() == Some(field)
            && e.message.contains(needle)),
        "no error at line {line} on {field} mentioning {needle:?}; got:\n{errs}"
    );
}

const GOOD: &str = "\
tasks:
  - taskType: classification
    title: Classification
    runner:
      startMethod: python_script
      target: train.py
    fieldOrder: [epochs, lr]
    hiddenFields: [seed]
    fieldOverrides:
      epochs:
        default: 3
        label: Epochs to run
    extraFields:
      - name: lr
        valueType: float
        default: 0.01
        min: 0
        max: 1
      - name: epochs
        valueType: int
        default: 10
      - name: model
        choices: [resnet, vit]
        default: resnet
        group: model
      - name: dry_run
        valueType: bool
        default: false
      - name: seed
        valueType: int
        default: 1
      - name: note
        passWhenEmpty: true
        cliArg: comment
  - taskType: finetune
    extends: classification
    runner:
      startMethod: python_module
      target: lab.finetune
    hiddenFields: [dry_run]
    extraFields:
      - name: checkpoint
        required: true
";

#[test]
fn a_good_catalog_resolves_types_flags_and_extends() {
    let c = parse(GOOD);
    let t = c.task("classification").expect("task");
    let model = t.fields.iter().find(|f| f.name == "model").expect("model");
    assert_eq!(model.kind, FieldKind::Select);
    assert_eq!(model.value_type, ValueType::Str);
    let dry = t
        .fields
        .iter()
        .find(|f| f.name == "dry_run")
        .expect("dry_run");
    assert_eq!(dry.kind, FieldKind::Boolean);
    assert_eq!(dry.cli_arg, "--dry-run");
    let note = t.fields.iter().find(|f| f.name == "note").expect("note");
    assert_eq!(note.cli_arg, "--comment");
    let epochs = t
        .fields
        .iter()
        .find(|f| f.name == "epochs")
        .expect("epochs");
    assert_eq!(epochs.default, Some(FieldValue::Int(3)), "override applied");
    assert_eq!(epochs.label, "Epochs to run");
    assert_eq!(epochs.kind, FieldKind::Number);
    let f = c.task("finetune").expect("finetune");
    let names: Vec<&str> = f.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "lr",
            "epochs",
            "model",
            "dry_run",
            "seed",
            "note",
            "checkpoint"
        ]
    );
    assert_eq!(f.fields[0].defined_in, "classification");
    assert_eq!(
        f.fields[1].default,
        Some(FieldValue::Int(10)),
        "overrides are not inherited"
    );
    assert_eq!(f.runner.start_method, StartMethod::PythonModule);
    assert_eq!(f.mlflow.model_name, "finetune-best-model");
    assert_eq!(c.registry_models.len(), 2, "derived per task");
}

#[test]
fn forms_order_hide_and_group() {
    let c = parse(GOOD);
    let form = form_schema(c.task("classification").expect("task"));
    let names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["epochs", "lr", "model", "dry_run", "note"]);
    assert_eq!(form.groups, ["general", "model"]);
    let form = form_schema(c.task("finetune").expect("task"));
    let names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["lr", "epochs", "model", "seed", "note", "checkpoint"]
    );
}

#[test]
fn every_problem_is_listed_with_its_line_and_path() {
    let yaml = "\
tasks:
  - taskType: a
    runner: {startMethod: python_script, target: a.py}
    extraFields:
      - name: lr
      - name: lr
      - name: learning_rate
        cliArg: --lr
      - name: opt
        type: select
      - name: size
        choices: [s, m]
        default: xl
      - name: depth
        valueType: int
        min: 10
        max: 2
      - name: width
        valueType: int
        default: 500
        max: 100
      - name: ratio
        valueType: float
        default: fast
      - name: flag
        valueType: bool
        type: text
  - taskType: a
    runner: {startMethod: bash, target: x}
  - taskType: b
    extends: nowhere
    runner: {startMethod: command}
  - taskType: c
    extends: d
    runner: {target: c.py}
  - taskType: d
    extends: c
    runner: {target: d.py}
runtime:
  availableGpuIds: [0, -1, 0, x]
";
    let e = errors(yaml);
    has(
        &e,
        6,
        "tasks[0].extraFields[1].name",
        "duplicate field name \"lr\" (first on line 5)",
    );
    has(
        &e,
        8,
        "tasks[0].extraFields[2].cliArg",
        "both pass the flag --lr",
    );
    has(
        &e,
        10,
        "tasks[0].extraFields[3].type",
        "select needs a non-empty `choices`",
    );
    has(
        &e,
        13,
        "tasks[0].extraFields[4].default",
        "not one of the choices (s, m)",
    );
    has(
        &e,
        17,
        "tasks[0].extraFields[5].max",
        "min 10 is greater than max 2",
    );
    has(&e, 20, "tasks[0].extraFields[6].default", "above max 100");
    has(
        &e,
        24,
        "tasks[0].extraFields[7].default",
        "expected a number, got \"fast\"",
    );
    has(
        &e,
        27,
        "tasks[0].extraFields[8].type",
        "valueType bool is shown as type boolean",
    );
    has(
        &e,
        28,
        "tasks[1].taskType",
        "duplicate taskType \"a\" (first declared on line 2)",
    );
    has(
        &e,
        29,
        "tasks[1].runner.startMethod",
        "unknown start method \"bash\"",
    );
    has(
        &e,
        31,
        "tasks[2].extends",
        "extends unknown task \"nowhere\"",
    );
    has(&e, 32, "tasks[2].runner.target", "needs a `target`");
    has(&e, 34, "tasks[3].extends", "extends cycle: c → d → c");
    has(&e, 37, "tasks[4].extends", "extends cycle: d → c → d");
    has(&e, 40, "runtime.availableGpuIds[1]", "bad GPU id -1");
    has(
        &e,
        40,
        "runtime.availableGpuIds[2]",
        "GPU id 0 is listed twice",
    );
    has(&e, 40, "runtime.availableGpuIds[3]", "bad GPU id x");
    let lines: Vec<u32> = e.0.iter().filter_map(|e| e.line).collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    assert_eq!(lines, sorted, "errors come in source order");
}

#[test]
fn choices_on_another_type_name_the_field_as_written() {
    let e = errors("tasks:\n  - taskType: t\n    runner: {target: a.py}\n    extraFields:\n      - name: BatchSize\n        type: number\n        choices: [1, 2]\n");
    has(
        &e,
        7,
        "tasks[0].extraFields[0].choices",
        "choices are for type select, not number (field \"BatchSize\")",
    );
}

#[test]
fn structure_problems_are_refused() {
    has(&errors("tasks: []\n"), 1, "tasks", "the task list is empty");
    has(&errors("title: x\n"), 1, "title", "unknown key `title`");
    let e = errors("tasks:\n  - title: no type\n    runner: {target: a.py}\n");
    has(&e, 2, "tasks[0]", "needs a `taskType`");
    let e = errors("tasks:\n  - taskType: a\n    baseTaskType: classification\n");
    has(&e, 3, "tasks[0].baseTaskType", "no built-in fields");
    has(&e, 2, "tasks[0].runner", "needs a `runner`");
    let e = errors("tasks:\n  - taskType: a b\n    runner: {target: a.py}\n");
    has(&e, 2, "tasks[0].taskType", "only letters");
    let e = errors(
        "tasks:\n  - taskType: a\n    runner: {target: a.py}\n    fieldOverrides:\n      nope: {label: x}\n    hiddenFields: [ghost]\n    fieldOrder: [ghost]\n",
    );
    has(
        &e,
        5,
        "tasks[0].fieldOverrides.nope",
        "has no field \"nope\"",
    );
    has(&e, 6, "tasks[0].hiddenFields[0]", "not a field");
    has(&e, 7, "tasks[0].fieldOrder[0]", "not a field");
    let e = errors("tasks:\n  - taskType: a\n    runner: {target: a.py}\n    extraFields:\n      - name: k\n        required: true\n    hiddenFields: [k]\n");
    has(
        &e,
        7,
        "tasks[0].hiddenFields[0]",
        "required and has no default",
    );
    let e =
        errors("tasks:\n  - taskType: a\n    runner: {startMethod: command, target: \"run 'x\"}\n");
    has(&e, 3, "tasks[0].runner.target", "single quote");
    let e = errors("tasks:\n  - taskType: a\n    runner: {target: a.py}\n    extraFields:\n      - name: 2x\n      - name: b\n        typo: 1\n");
    has(
        &e,
        5,
        "tasks[0].extraFields[0].name",
        "must be an identifier",
    );
    has(&e, 7, "tasks[0].extraFields[1].typo", "unknown key `typo`");
    let e = errors("tasks:\n  - taskType: a\n    runner: {target: a.py}\nregistryModels:\n  - id: M one\n    taskType: zzz\n  - id: m-one\n    defaultStage: prod\n");
    has(
        &e,
        6,
        "registryModels[0].taskType",
        "no task has taskType \"zzz\"",
    );
    has(
        &e,
        7,
        "registryModels[1].id",
        "duplicate registry model id \"m-one\"",
    );
    has(&e, 8, "registryModels[1].defaultStage", "dev or release");
    // A syntax error is the config language's, with its position.
    let e = errors("tasks:\n  - taskType: [a\n");
    assert!(e.0[0].line.is_some(), "{e}");
}

#[test]
fn inherited_fields_collide_with_the_childs_own() {
    let e = errors("tasks:\n  - taskType: a\n    runner: {target: a.py}\n    extraFields:\n      - name: lr\n  - taskType: b\n    extends: a\n    extraFields:\n      - name: lr\n      - name: rate\n        cliArg: lr\n");
    has(
        &e,
        9,
        "tasks[1].extraFields[0].name",
        "already defined by task \"a\"",
    );
    has(
        &e,
        11,
        "tasks[1].extraFields[1].cliArg",
        "both pass the flag --lr",
    );
    assert!(
        !e.0.iter().any(|e| e.line == Some(5)),
        "the parent's own field is not reported: {e}"
    );
}

#[test]
fn env_vars_expand_in_text() {
    let env = |k: &str| (k == "SCRIPTS").then(|| "/opt/lab".to_string());
    let c = parse_catalog(
        "tasks:\n  - taskType: a\n    runner: {target: $SCRIPTS/train.py, cwd: \"${SCRIPTS}/x\"}\n    extraFields:\n      - name: root\n        default: $UNSET/data\n",
        &env,
    )
    .expect("parses");
    let t = &c.tasks[0];
    assert_eq!(t.runner.target, "/opt/lab/train.py");
    assert_eq!(t.runner.cwd.as_deref(), Some("/opt/lab/x"));
    assert_eq!(
        t.fields[0].default,
        Some(FieldValue::Text("$UNSET/data".into()))
    );
}

fn vals(pairs: &[(&str, FieldValue)]) -> BTreeMap<String, FieldValue> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.into())
}

fn plan(c: &Catalog, task: &str, v: &[(&str, FieldValue)]) -> Result<LaunchPlan, LaunchErrors> {
    plan_launch(
        c.task(task).expect("task"),
        &vals(v),
        &SweepLimits::default(),
        &no_env,
    )
}

#[test]
fn argv_follows_the_rules() {
    let c = parse(GOOD);
    let p = plan(
        &c,
        "classification",
        &[("lr", text("0.5")), ("dry_run", FieldValue::Bool(true))],
    )
    .expect("plans");
    assert_eq!(p.runs.len(), 1);
    assert_eq!(
        p.runs[0].argv,
        [
            "python",
            "train.py",
            "--lr",
            "0.5",
            "--epochs",
            "3",
            "--model",
            "resnet",
            "--dry-run",
            "true",
            "--seed",
            "1",
            "--comment",
            ""
        ]
    );
    assert_eq!(p.project, "classification");
    let p = plan(&c, "finetune", &[("checkpoint", text("best.pt"))]).expect("plans");
    assert_eq!(&p.runs[0].argv[..3], ["python", "-m", "lab.finetune"]);
    assert_eq!(
        p.runs[0].argv[p.runs[0].argv.len() - 2..],
        ["--checkpoint", "best.pt"]
    );
    assert_eq!(p.runs[0].argv[5..7], ["--epochs", "10"]);
}

#[test]
fn bad_values_name_their_field() {
    let c = parse(GOOD);
    let e = plan(&c, "finetune", &[]).expect_err("checkpoint is required");
    assert_eq!(e.0, [LaunchError::field("checkpoint", "is required")]);
    let e = plan(
        &c,
        "classification",
        &[
            ("lr", FieldValue::Float(2.0)),
            ("model", text("mlp")),
            ("epochs", text("ten")),
            ("dry_run", text("maybe")),
            ("ghost", FieldValue::Int(1)),
        ],
    )
    .expect_err("refused");
    let by = |f: &str| {
        e.0.iter()
            .find(|e| e.field.as_deref() == Some(f))
            .map(|e| e.message.clone())
            .unwrap_or_default()
    };
    assert!(by("lr").contains("above the maximum 1"), "{e}");
    assert!(
        by("model").contains("not one of the choices (resnet, vit)"),
        "{e}"
    );
    assert!(by("epochs").contains("expected a whole number"), "{e}");
    assert!(by("dry_run").contains("true or false"), "{e}");
    assert!(by("ghost").contains("no such field"), "{e}");
}

#[test]
fn hostile_values_stay_single_argv_entries() {
    let c = parse_catalog(
        "tasks:\n  - taskType: t\n    runner: {startMethod: command, target: \"/usr/bin/env 'my tool' -x\"}\n    extraFields:\n      - name: note\n",
        &no_env,
    )
    .expect("parses");
    for evil in [
        "; rm -rf /",
        "$(reboot)",
        "`id`",
        "a && b | c > /etc/passwd",
        "'\"\\",
        "line\nbreak",
        "--other-flag",
        "{{note}} [1 2] f(x) *",
    ] {
        let p = plan(&c, "t", &[("note", text(evil))]).expect("plans");
        assert_eq!(p.runs.len(), 1, "{evil:?} made a sweep");
        assert_eq!(
            p.runs[0].argv,
            ["/usr/bin/env", "my tool", "-x", "--note", evil]
        );
        assert!(
            p.runs[0].config_yaml.contains("args:"),
            "{}",
            p.runs[0].config_yaml
        );
    }
}

#[test]
fn target_env_var_overrides_the_target() {
    let c = parse("tasks:\n  - taskType: t\n    runner: {target: a.py, targetEnvVar: T_SCRIPT, python: python3}\n");
    let t = c.task("t").expect("task");
    let env = |k: &str| (k == "T_SCRIPT").then(|| "/abs/b.py".to_string());
    let p = plan_launch(t, &BTreeMap::new(), &SweepLimits::default(), &env).expect("plans");
    assert_eq!(p.runs[0].argv, ["python3", "/abs/b.py"]);
    let p = plan_launch(t, &BTreeMap::new(), &SweepLimits::default(), &no_env).expect("plans");
    assert_eq!(p.runs[0].argv, ["python3", "a.py"]);
}

#[test]
fn several_values_make_a_sweep() {
    let c = parse(GOOD);
    let p = plan(
        &c,
        "classification",
        &[
            (
                "lr",
                FieldValue::List(vec![FieldValue::Float(0.1), FieldValue::Float(0.01)]),
            ),
            ("model", text("resnet,vit")),
            ("note", text("a\\,b")),
        ],
    )
    .expect("plans");
    assert_eq!(p.runs.len(), 4);
    let pick = |i: usize, flag: &str| {
        let a = &p.runs[i].argv;
        let at = a.iter().position(|x| x == flag).expect("flag");
        a[at + 1].clone()
    };
    // The first axis varies slowest, as in an experiment config.
    assert_eq!(
        (pick(0, "--lr"), pick(0, "--model")),
        ("0.1".into(), "resnet".into())
    );
    assert_eq!(
        (pick(1, "--lr"), pick(1, "--model")),
        ("0.1".into(), "vit".into())
    );
    assert_eq!(
        (pick(3, "--lr"), pick(3, "--model")),
        ("0.01".into(), "vit".into())
    );
    assert_eq!(
        pick(2, "--comment"),
        "a,b",
        "an escaped comma is not a list"
    );
    assert_eq!(
        p.runs[1].params,
        [
            ("lr".to_string(), "0.1".to_string()),
            ("model".into(), "vit".into())
        ]
    );
    let names: std::collections::HashSet<&str> = p.runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.len(), 4, "unique names");
    assert!(
        p.runs[0].name.starts_with("classification-lr=0.1"),
        "{}",
        p.runs[0].name
    );
    // Each value is checked; the cap is the server's.
    let e = plan(&c, "classification", &[("lr", text("0.1,7"))]).expect_err("7 > max");
    assert_eq!(e.0[0].field.as_deref(), Some("lr"));
    let many: Vec<FieldValue> = (0..40).map(FieldValue::Int).collect();
    let e = plan_launch(
        c.task("classification").expect("task"),
        &vals(&[
            ("epochs", FieldValue::List(many.clone())),
            ("seed", FieldValue::List(many)),
        ]),
        &SweepLimits { max_runs: 1000 },
        &no_env,
    )
    .expect_err("1,600 runs");
    assert!(e.to_string().contains("1,600 runs"), "{e}");
}

/// A plan's config is built as a tree, not parsed from YAML; the YAML it
/// keeps as the sweep's source must parse back to the very same runs.
#[test]
fn a_launch_is_the_experiment_its_yaml_describes() {
    let c = parse(GOOD);
    let odd = [
        "",
        "plain words",
        "; rm -rf / $(id) `id` && a | b",
        "'\"\\ quotes",
        "line\nbreak\ttab\r",
        "- dash: colon # hash",
        "[1 2] {a: b} f(x) *alias &anchor !tag (commas make a sweep)",
        "yes",
        "1_000",
        "null",
        "~",
        "0x10",
        "\u{FEFF}bom \u{85} \u{2028} \u{2029} \u{FFFE} \u{FFFF}",
        "\u{E000}\u{E001}\u{E006} private use",
        "\u{1F680} naïve 한국어",
        " padded ",
    ];
    for note in odd {
        for lr in [
            FieldValue::Float(1.0),
            FieldValue::Float(1e-300),
            FieldValue::List(vec![FieldValue::Float(0.1), FieldValue::Int(0)]),
        ] {
            let p = plan(
                &c,
                "classification",
                &[
                    ("note", text(note)),
                    ("lr", lr.clone()),
                    ("model", text("resnet,vit")),
                ],
            )
            .unwrap_or_else(|e| panic!("{note:?} {lr:?}: {e}"));
            let parsed = crate::config::parse_experiment(&p.source_yaml).unwrap_or_else(|e| {
                panic!("{note:?}: its YAML does not parse:\n{}\n{e}", p.source_yaml)
            });
            let specs = parsed.expand(&SweepLimits::default()).expect("expands");
            assert_eq!(specs.len(), p.runs.len(), "{}", p.source_yaml);
            for (spec, run) in specs.iter().zip(&p.runs) {
                assert_eq!(spec.config_yaml, run.config_yaml, "{note:?}");
                let short: Vec<(String, String)> = spec
                    .params
                    .iter()
                    .map(|(k, v)| (k.trim_start_matches("args.").to_string(), v.clone()))
                    .collect();
                assert_eq!(short, run.params, "{note:?}");
                assert_eq!(
                    spec.name.strip_prefix("classification"),
                    run.name.strip_prefix("classification"),
                    "{note:?}"
                );
            }
            let comment = p.runs[0].argv.iter().position(|a| a == "--comment");
            assert_eq!(
                comment.map(|i| p.runs[0].argv[i + 1].as_str()),
                Some(note),
                "the value reaches the argv unchanged"
            );
        }
    }
}

#[test]
fn disabled_tasks_do_not_launch() {
    let c = parse("tasks:\n  - taskType: t\n    enabled: false\n    runner: {target: a.py}\n");
    let e = plan(&c, "t", &[]).expect_err("disabled");
    assert!(e.to_string().contains("disabled"), "{e}");
}

#[test]
fn field_values_round_trip_through_json() {
    let v: BTreeMap<String, FieldValue> = serde_json::from_str(
        r#"{"a": 1, "b": 0.5, "c": "x", "d": true, "e": [1, "y"], "f": null}"#,
    )
    .expect("json");
    assert_eq!(v["a"], FieldValue::Int(1));
    assert_eq!(v["b"], FieldValue::Float(0.5));
    assert_eq!(v["d"], FieldValue::Bool(true));
    assert_eq!(
        v["e"],
        FieldValue::List(vec![FieldValue::Int(1), text("y")])
    );
    assert_eq!(v["f"], FieldValue::Null);
    // Beyond i64 a whole number is a float, as it was read before.
    let big: FieldValue = serde_json::from_str("18446744073709551615").expect("u64::MAX");
    assert_eq!(big, FieldValue::Float(u64::MAX as f64));
    let nested: FieldValue = serde_json::from_str(r#"[[1, -2], [], "z"]"#).expect("nested");
    assert_eq!(
        nested,
        FieldValue::List(vec![
            FieldValue::List(vec![FieldValue::Int(1), FieldValue::Int(-2)]),
            FieldValue::List(vec![]),
            text("z"),
        ])
    );
    for v in [
        FieldValue::Int(-7),
        FieldValue::Float(2.5),
        nested,
        FieldValue::Null,
    ] {
        let json = serde_json::to_string(&v).expect("writes");
        assert_eq!(
            serde_json::from_str::<FieldValue>(&json).expect("reads"),
            v,
            "{json}"
        );
    }
    // An object is no field value; the error says what one is.
    let e = serde_json::from_str::<BTreeMap<String, FieldValue>>(r#"{"a": {"b": 1}}"#)
        .expect_err("a map");
    assert!(
        e.to_string()
            .contains("expected null, true or false, a number, text"),
        "{e}"
    );
    assert!(e.to_string().contains("line 1 column"), "{e}");
}

#[test]
fn the_example_catalog_is_valid_and_launches_train_py() {
    let c = parse(include_str!("../../../examples/catalog.yaml"));
    let p = plan(&c, "long-train", &[("lr", text("0.1,0.01"))]).expect("plans");
    assert_eq!(p.runs.len(), 2);
    assert_eq!(
        p.runs[0].argv,
        [
            "python3",
            "examples/train.py",
            "--epochs",
            "30",
            "--step-seconds",
            "0.5",
            "--lr",
            "0.1",
            "--batch-size",
            "32",
            "--optimizer",
            "adam",
            "--augment",
            "true"
        ]
    );
    assert_eq!(p.project, "launcher-demo");
    assert_eq!(p.runs[1].name, "long-train-lr=0.01", "named after the task");
    let form = form_schema(c.task("long-train").expect("task"));
    let names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["epochs", "lr", "batch_size", "optimizer", "augment"]
    );
}

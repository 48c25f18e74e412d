use clap::Parser;
use trainyard_server::cli::Cli;

use crate::harness::config;

#[tokio::test]
async fn an_unusable_data_dir_stops_startup_with_its_path() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("the file is written");
    let bad = file.join("data");
    let result = trainyard_server::run(
        config(&bad, None, Default::default()),
        std::future::pending(),
    )
    .await;
    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains(&bad.display().to_string()), "{message}");
}

#[test]
fn serving_beyond_loopback_without_a_key_is_refused_with_instructions() {
    let cli = Cli::try_parse_from(["trainyard", "serve", "--server-only", "--host", "0.0.0.0"])
        .expect("try parse from");
    let Ok(trainyard_server::cli::Command::Serve(args)) = cli.command_or_serve() else {
        panic!("serve")
    };
    let message = args
        .into_settings()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        message.contains("--api-key") && message.contains("TRAINYARD_API_KEY"),
        "{message}"
    );

    let cli = Cli::try_parse_from([
        "trainyard",
        "serve",
        "--server-only",
        "--host",
        "0.0.0.0",
        "--api-key",
        "0123456789abcdef",
    ])
    .expect("try parse from");
    let Ok(trainyard_server::cli::Command::Serve(args)) = cli.command_or_serve() else {
        panic!("serve")
    };
    assert!(args.into_settings().is_ok());
}

#[test]
fn nonsense_thresholds_are_refused() {
    for args in [
        vec!["trainyard", "serve", "--stale-after", "0"],
        vec![
            "trainyard",
            "serve",
            "--stale-after",
            "30",
            "--disconnected-after",
            "10",
        ],
        vec!["trainyard", "serve", "--stale-after", "NaN"],
    ] {
        let cli = Cli::try_parse_from(&args).expect("try parse from");
        let Ok(trainyard_server::cli::Command::Serve(a)) = cli.command_or_serve() else {
            panic!("serve")
        };
        assert!(a.into_settings().is_err(), "{args:?}");
    }
}

#[test]
fn no_subcommand_means_serve_with_defaults() {
    let cli = Cli::try_parse_from(["trainyard"]).expect("try parse from");
    let Ok(trainyard_server::cli::Command::Serve(args)) = cli.command_or_serve() else {
        panic!("serve")
    };
    assert_eq!(args.port, 3000);
    assert!(!args.server_only);
}

#[test]
fn a_path_like_local_host_id_is_refused_naming_the_flag() {
    let cli = Cli::try_parse_from(["trainyard", "serve", "--local-host-id", "../etc"])
        .expect("try parse from");
    let Ok(trainyard_server::cli::Command::Serve(args)) = cli.command_or_serve() else {
        panic!("serve")
    };
    let message = args
        .into_settings()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.starts_with("--local-host-id"), "{message}");
}

/// `trainyard serve ARGS…` turned into settings, or the error's text.
fn serve_settings(args: &[&str]) -> Result<trainyard_server::ServeSettings, String> {
    let cli = Cli::try_parse_from(["trainyard", "serve"].iter().chain(args))
        .map_err(|e| e.to_string())?;
    let Ok(trainyard_server::cli::Command::Serve(args)) = cli.command_or_serve() else {
        panic!("serve")
    };
    args.into_settings().map_err(|e| e.to_string())
}

#[test]
fn render_threads_are_a_count_and_bad_ones_name_the_flag() {
    assert_eq!(serve_settings(&[]).expect("defaults").render_threads, None);
    let zero = serve_settings(&["--render-threads", "0"]).expect("0 is valid");
    assert_eq!(zero.render_threads, Some(0));
    for bad in ["abc", "-1", "2.5", "", "100000"] {
        let message = serve_settings(&[&format!("--render-threads={bad}")])
            .err()
            .unwrap_or_default();
        assert!(message.contains("--render-threads"), "{bad:?}: {message}");
    }
}

#[test]
fn notification_flags_are_checked_and_name_the_flag() {
    let settings = serve_settings(&[
        "--webhook",
        "http://hooks.lab/a",
        "--slack-webhook",
        "https://hooks.slack.com/services/T/B/x",
        "--slack-webhook",
        "https://chat.lab/hooks/y",
        "--notify-on",
        "failed,lost",
        "--public-url",
        "https://trainyard.lab",
        "--metrics-token",
        "0123456789abcdef-metrics",
    ])
    .expect("valid flags");
    let hooks = &settings.notify.webhooks;
    assert_eq!(hooks.len(), 3);
    assert_eq!(hooks[0].kind, trainyard_core::webhooks::WebhookKind::Json);
    assert_eq!(hooks[2].kind, trainyard_core::webhooks::WebhookKind::Slack);
    assert!(hooks.iter().all(|h| h.events.len() == 2));
    assert_eq!(
        settings.notify.public_url.as_deref(),
        Some("https://trainyard.lab")
    );
    assert!(settings.metrics_token.is_some());

    for (args, flag) in [
        (vec!["--webhook", "hooks.lab/a"], "--webhook"),
        (vec!["--slack-webhook", "ftp://x/y"], "--slack-webhook"),
        (
            vec!["--webhook", "http://x/", "--notify-on", "failed,exploded"],
            "--notify-on",
        ),
        (vec!["--public-url", "trainyard"], "--public-url"),
        (vec!["--metrics-token", "short"], "--metrics-token"),
    ] {
        let message = serve_settings(&args).err().unwrap_or_default();
        assert!(message.starts_with(flag), "{args:?}: {message}");
    }
}

#[test]
fn bad_ftp_flags_stop_startup_naming_the_flag_and_never_the_password() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let missing = dir.path().join("no-such-file");
    let missing = missing.to_string_lossy();
    for (args, flag) in [
        (
            vec!["--ftp-url", "ftp://lab:hunter2-secret@host/models"],
            "--ftp-url",
        ),
        (vec!["--ftp-url", "http://host/models"], "--ftp-url"),
        (vec!["--ftp-url", "ftp://host/../etc"], "--ftp-url"),
        (
            vec![
                "--ftp-url",
                "ftp://lab@host/",
                "--ftp-password-file",
                &missing,
            ],
            "--ftp-password-file",
        ),
        (
            vec![
                "--ftp-url",
                "ftp://lab@host/",
                "--ftp-password-env",
                "TRAINYARD_TEST_NEVER_SET_VARIABLE",
            ],
            "--ftp-password-env",
        ),
    ] {
        let cli = Cli::try_parse_from(
            ["trainyard", "serve", "--server-only"]
                .into_iter()
                .chain(args.iter().copied()),
        )
        .expect("try parse from");
        let Ok(trainyard_server::cli::Command::Serve(serve)) = cli.command_or_serve() else {
            panic!("serve")
        };
        let message = serve
            .into_settings()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.starts_with(flag), "{args:?}: {message}");
        assert!(!message.contains("hunter2-secret"), "{message}");
    }
    let password = dir.path().join("pw");
    std::fs::write(&password, "s3cret-from-a-file\n").expect("written");
    let cli = Cli::try_parse_from([
        "trainyard",
        "serve",
        "--server-only",
        "--ftp-url",
        "ftp://lab@127.0.0.1:2121/models",
        "--ftp-password-file",
        &password.to_string_lossy(),
    ])
    .expect("try parse from");
    let Ok(trainyard_server::cli::Command::Serve(serve)) = cli.command_or_serve() else {
        panic!("serve")
    };
    let settings = serve.into_settings().expect("valid");
    let mirror = settings.mirror.as_ref().expect("a mirror");
    assert_eq!(mirror.target.url(), "ftp://lab@127.0.0.1:2121/models");
    assert!(!format!("{settings:?}").contains("s3cret-from-a-file"));
}

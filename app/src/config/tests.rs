//! Loading and checking, with the process environment sandboxed by figment's Jail.
#![allow(clippy::result_large_err)] // figment::Jail's own error type

use super::*;

#[test]
fn defaults_load_and_pass_checks() {
    let c = Config::defaults();
    c.check().unwrap();
    assert_eq!(c.http.bind.port(), 8080);
    assert_eq!(c.auth.argon2_memory_kib, 19456);
}

#[test]
fn operators_env_keys_keep_working() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("ORDERFLOW_AUTH__JWT_SECRET", REAL_SECRET);
        jail.set_env(
            "ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD",
            "a-real-admin-password",
        );
        jail.set_env("ORDERFLOW_ADAPTERS__STORE", "mongo");
        jail.set_env("ORDERFLOW_ADAPTERS__CACHE", "redis");
        jail.set_env("ORDERFLOW_ADAPTERS__QUEUE", "sqs");
        jail.set_env("ORDERFLOW_ADAPTERS__MAILER", "ses");
        jail.set_env("ORDERFLOW_MONGO__URI", "mongodb://db:27017/?replicaSet=rs0");
        jail.set_env("ORDERFLOW_MONGO__DATABASE", "shop");
        jail.set_env("ORDERFLOW_REDIS__URL", "redis://cache:6379");
        jail.set_env("ORDERFLOW_AWS__REGION", "eu-west-1");
        jail.set_env("ORDERFLOW_AWS__ENDPOINT_URL", "http://localstack:4566");
        jail.set_env("ORDERFLOW_SQS__QUEUE_NAME", "orders");
        jail.set_env("ORDERFLOW_SQS__DLQ_NAME", "orders-dlq");
        jail.set_env("ORDERFLOW_SQS__MAX_RECEIVES", "7");
        jail.set_env("ORDERFLOW_SES__FROM", "shop@example.com");
        jail.set_env("ORDERFLOW_SMTP__TLS", "starttls");
        let c = Config::load(&Sources::default()).unwrap();
        assert_eq!(
            (
                c.adapters.store,
                c.adapters.cache,
                c.adapters.queue,
                c.adapters.mailer
            ),
            (
                StoreKind::Mongo,
                CacheKind::Redis,
                QueueKind::Sqs,
                MailerKind::Ses
            )
        );
        assert_eq!(c.mongo.uri.expose(), "mongodb://db:27017/?replicaSet=rs0");
        assert_eq!(c.mongo.database, "shop");
        assert_eq!(c.redis.url.expose(), "redis://cache:6379");
        assert_eq!(
            c.aws.endpoint_url.as_deref(),
            Some("http://localstack:4566")
        );
        assert_eq!(
            (
                c.sqs.queue_name.as_str(),
                c.sqs.dlq_name.as_str(),
                c.sqs.max_receives
            ),
            ("orders", "orders-dlq", 7)
        );
        assert_eq!(c.ses.from, "shop@example.com");
        assert_eq!(c.smtp.tls, SmtpTls::Starttls);
        assert!(
            !c.redacted_toml().contains("db:27017"),
            "connection strings may hold passwords"
        );
        jail.set_env("ORDERFLOW_AWS__ACCESS_KEY_ID", "AKIA");
        assert!(Config::load(&Sources::default())
            .unwrap_err()
            .to_string()
            .contains("secret_access_key"));
        Ok(())
    });
}

#[test]
fn env_overrides_and_unknown_keys() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("ORDERFLOW_HTTP__BIND", "127.0.0.1:9000");
        jail.set_env("ORDERFLOW_TEST_MONGO_URL", "ignored");
        let c = Config::load(&Sources::default()).unwrap();
        assert_eq!(c.http.bind.port(), 9000);
        jail.set_env("ORDERFLOW_HTTP__BINDD", "x");
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(err.to_lowercase().contains("bindd"), "{err}");
        Ok(())
    });
}

#[test]
fn bad_adapter_value_names_the_key() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("ORDERFLOW_ADAPTERS__QUEUE", "carrier-pigeon");
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(
            err.to_lowercase().contains("adapters.queue") && err.contains("carrier-pigeon"),
            "{err}"
        );
        Ok(())
    });
}

const REAL_SECRET: &str = "a-real-secret-of-at-least-32-bytes!!";

#[test]
fn development_secrets_are_refused_outside_the_embedded_configuration_whatever_the_profile() {
    figment::Jail::expect_with(|jail| {
        // Configured by environment alone, no profile: the production-shaped hole.
        jail.set_env("ORDERFLOW_ADAPTERS__STORE", "mongo");
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(
            err.contains("auth.jwt_secret")
                && err.contains("ORDERFLOW_AUTH__JWT_SECRET")
                && err.contains("adapters.store = \"mongo\""),
            "{err}"
        );
        jail.set_env("ORDERFLOW_AUTH__JWT_SECRET", REAL_SECRET);
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(
            err.contains("bootstrap.admin_password")
                && err.contains("ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD"),
            "{err}"
        );
        jail.set_env(
            "ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD",
            "another-real-password",
        );
        Config::load(&Sources::default()).unwrap();
        // An old key kept for verification may not be the public one either.
        jail.set_env(
            "ORDERFLOW_AUTH__VERIFY_KEYS",
            format!("[{{kid=\"old\", secret=\"{}\"}}]", checks::DEV_JWT_SECRET),
        );
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(
            err.contains("auth.verify_keys") && err.contains("old"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn every_non_embedded_trait_alone_refuses_the_development_secret() {
    let cases: [(&str, &str); 8] = [
        ("ORDERFLOW_ADAPTERS__STORE", "mongo"),
        ("ORDERFLOW_ADAPTERS__CACHE", "redis"),
        ("ORDERFLOW_ADAPTERS__QUEUE", "sqs"),
        ("ORDERFLOW_ADAPTERS__MAILER", "smtp"),
        ("ORDERFLOW_ADAPTERS__MAILER", "ses"),
        ("ORDERFLOW_HTTP__BIND", "0.0.0.0:8080"),
        ("ORDERFLOW_OPS__BIND", "0.0.0.0:9090"),
        ("ORDERFLOW_HTTP__BIND", "[::]:8080"),
    ];
    for (key, value) in cases {
        figment::Jail::expect_with(|jail| {
            jail.set_env(key, value);
            let err = Config::load(&Sources::default()).unwrap_err().to_string();
            assert!(err.contains("auth.jwt_secret"), "{key}={value}: {err}");
            Ok(())
        });
    }
    // The embedded configuration keeps working under any profile name, and a
    // memory cache or the log mailer are still embedded.
    figment::Jail::expect_with(|jail| {
        jail.create_dir("profiles")?;
        jail.create_file(
            "profiles/production.toml",
            "[adapters]\ncache = \"none\"\nmailer = \"log\"\n",
        )?;
        let c = Config::load(&Sources {
            profile: Some("production".into()),
            config_dir: Some("profiles".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.not_embedded_because(), None);
        Ok(())
    });
}

#[test]
fn duplicate_key_ids_refuse_the_start() {
    figment::Jail::expect_with(|jail| {
        jail.set_env(
            "ORDERFLOW_AUTH__VERIFY_KEYS",
            format!("[{{kid=\"dev\", secret=\"{REAL_SECRET}\"}}]"),
        );
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(err.contains("kid \"dev\" appears twice"), "{err}");
        jail.set_env(
            "ORDERFLOW_AUTH__VERIFY_KEYS",
            format!("[{{kid=\"k1\", secret=\"{REAL_SECRET}\"}}, {{kid=\"k1\", secret=\"{REAL_SECRET}\"}}]"),
        );
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(err.contains("kid \"k1\" appears twice"), "{err}");
        jail.set_env(
            "ORDERFLOW_AUTH__VERIFY_KEYS",
            format!("[{{kid=\"k1\", secret=\"{REAL_SECRET}\"}}]"),
        );
        Config::load(&Sources::default()).unwrap();
        Ok(())
    });
}

#[test]
fn profiles_are_built_in_and_a_config_dir_adds_or_replaces_them() {
    figment::Jail::expect_with(|jail| {
        // The jail's working directory has no config/ folder at all.
        jail.set_env("ORDERFLOW_AUTH__JWT_SECRET", REAL_SECRET);
        jail.set_env(
            "ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD",
            "a-real-admin-password",
        );
        let p = |name: &str| Sources {
            profile: Some(name.into()),
            ..Default::default()
        };
        let prod = Config::load(&p("production")).unwrap();
        assert_eq!(prod.profile, "production");
        assert_eq!(prod.adapters.queue, QueueKind::Sqs);
        assert_eq!(prod.log.format, LogFormat::Json);
        let local = Config::load(&p("local")).unwrap();
        assert_eq!(local.adapters.mailer, MailerKind::Smtp);
        let err = Config::load(&p("staging")).unwrap_err().to_string();
        assert!(
            err.contains("staging")
                && err.contains("local, production")
                && err.contains("ORDERFLOW_CONFIG_DIR"),
            "{err}"
        );
        jail.create_dir("etc")?;
        jail.create_file("etc/staging.toml", "[log]\nformat = \"json\"\n")?;
        jail.create_file("etc/production.toml", "[log]\nlevel = \"debug\"\n")?;
        jail.set_env("ORDERFLOW_CONFIG_DIR", "etc");
        assert_eq!(
            Config::load(&p("staging")).unwrap().log.format,
            LogFormat::Json
        );
        let replaced = Config::load(&p("production")).unwrap();
        assert_eq!(
            (replaced.log.level.as_str(), replaced.adapters.queue),
            ("debug", QueueKind::Memory),
            "a file in the config dir replaces the built-in profile of its name"
        );
        assert!(!replaced.redacted_toml().contains("a-real-secret"));
        let err = Config::load(&p("qa")).unwrap_err().to_string();
        assert!(err.contains("qa.toml not found"), "{err}");
        Ok(())
    });
}

#[test]
fn kubernetes_service_links_are_ignored_and_a_mistyped_setting_still_stops_the_start() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("ORDERFLOW_SERVICE_HOST", "10.0.0.7");
        jail.set_env("ORDERFLOW_SERVICE_PORT", "8080");
        jail.set_env("ORDERFLOW_PORT", "tcp://10.0.0.7:8080");
        jail.set_env("ORDERFLOW_PORT_8080_TCP", "tcp://10.0.0.7:8080");
        jail.set_env("ORDERFLOW_PORT_8080_TCP_ADDR", "10.0.0.7");
        jail.set_env("ORDERFLOW_PORT_8080_TCP_PROTO", "tcp");
        let c = Config::load(&Sources::default()).unwrap();
        assert!(
            c.ignored_env.contains(&"ORDERFLOW_SERVICE_HOST".to_owned()),
            "{:?}",
            c.ignored_env
        );
        assert!(c
            .ignored_env
            .contains(&"ORDERFLOW_PORT_8080_TCP_ADDR".to_owned()));
        assert!(!c.ignored_env.iter().any(|k| k.contains("TEST_")));
        jail.set_env("ORDERFLOW_HTTPP__BIND", "127.0.0.1:1");
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(err.to_lowercase().contains("httpp"), "{err}");
        Ok(())
    });
}

#[test]
fn trusted_proxies_are_networks_or_addresses() {
    figment::Jail::expect_with(|jail| {
        jail.set_env(
            "ORDERFLOW_HTTP__TRUSTED_PROXIES",
            "[\"10.0.0.0/8\", \"192.168.1.7\", \"fd00::/8\"]",
        );
        let c = Config::load(&Sources::default()).unwrap();
        let nets: Vec<String> = c
            .http
            .trusted_proxies
            .iter()
            .map(|n| n.0.to_string())
            .collect();
        assert_eq!(nets, ["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]);
        assert!(c.http.trusted_proxies[0].contains(&"10.1.2.3".parse().unwrap()));
        assert!(
            c.http.trusted_proxies[0].contains(&"::ffff:10.1.2.3".parse().unwrap()),
            "an IPv4 peer on an IPv6 socket"
        );
        assert!(!c.http.trusted_proxies[1].contains(&"192.168.1.8".parse().unwrap()));
        jail.set_env("ORDERFLOW_HTTP__TRUSTED_PROXIES", "[\"10.0.0.0/33\"]");
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(
            err.to_lowercase().contains("trusted_proxies") && err.contains("10.0.0.0/33"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn the_ops_listener_needs_its_own_port() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("ORDERFLOW_OPS__BIND", "127.0.0.1:8080");
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(err.contains("ops.bind"), "{err}");
        Ok(())
    });
}

#[test]
fn a_claim_that_could_lapse_mid_send_refuses_the_start() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("ORDERFLOW_WORKER__NOTIFY_LEASE_MS", "5000");
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(
            err.contains("worker.notify_lease_ms") && err.contains("mail.send_timeout_ms"),
            "{err}"
        );
        jail.set_env("ORDERFLOW_MAIL__SEND_TIMEOUT_MS", "3000");
        Config::load(&Sources::default()).map_err(|e| e.to_string())?;
        jail.set_env("ORDERFLOW_WORKER__DELIVERY_DEADLINE_MS", "3000");
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(err.contains("worker.delivery_deadline_ms"), "{err}");
        Ok(())
    });
}

#[test]
fn a_sweep_lease_that_lapses_between_renewals_refuses_the_start() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("ORDERFLOW_RELAY__SWEEP_LEASE_MS", "100000");
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(
            err.contains("relay.sweep_lease_ms") && err.contains("relay.sweep_interval_ms"),
            "{err}"
        );
        jail.set_env("ORDERFLOW_RELAY__SWEEP_INTERVAL_MS", "50000");
        Config::load(&Sources::default()).map_err(|e| e.to_string())?;
        Ok(())
    });
}

#[test]
fn keys_renamed_to_milliseconds_are_refused_by_name_with_the_new_value() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("ORDERFLOW_WORKER__NOTIFY_LEASE_SECONDS", "30");
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(
            err.contains("worker.notify_lease_seconds")
                && err.contains("ORDERFLOW_WORKER__NOTIFY_LEASE_SECONDS")
                && err.contains("worker.notify_lease_ms = 30000"),
            "{err}"
        );
        Ok(())
    });
    figment::Jail::expect_with(|jail| {
        jail.create_file("old.toml", "[auth]\naccess_ttl_secs = 600\n")?;
        let err = Config::load(&Sources {
            file: Some("old.toml".into()),
            ..Sources::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("auth.access_ttl_secs") && err.contains("auth.access_ttl_ms = 600000"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn every_duration_key_is_in_milliseconds() {
    let defaults: toml::Table = toml::from_str(DEFAULT_TOML).unwrap();
    for (section, keys) in &defaults {
        let Some(keys) = keys.as_table() else {
            continue;
        };
        for key in keys.keys() {
            assert!(
                !(key.ends_with("_secs") || key.ends_with("_seconds") || key.ends_with("_s")),
                "{section}.{key}: durations are in milliseconds, named *_ms"
            );
        }
    }
    let mut config = Config::defaults();
    for (old, new) in renamed::RENAMED_TO_MS {
        let (section, key) = new.split_once('.').unwrap();
        assert!(
            defaults[section].get(key).is_some(),
            "{old} was renamed {new}, which config/default.toml sets"
        );
    }
    // Counted in whole seconds downstream (JWT claims, SQS calls).
    config.auth.access_ttl_ms = 1500;
    let err = config.check().unwrap_err().to_string();
    assert!(
        err.contains("auth.access_ttl_ms") && err.contains("whole number of seconds"),
        "{err}"
    );
}

#[test]
fn the_reset_link_must_be_an_http_url_and_live_a_minute_at_least() {
    for bad in [
        "javascript:alert(1)",
        "ftp://x/reset",
        "https://x/reset#frag",
        "https://x/a b",
        "http://shop.example/reset",
    ] {
        let mut c = Config::defaults();
        c.auth.reset_url = bad.into();
        let err = c.check().unwrap_err().to_string();
        assert!(err.contains("auth.reset_url"), "{bad}: {err}");
    }
    let mut c = Config::defaults();
    c.auth.reset_url = "https://shop.example/account/reset?lang=en".into();
    c.check().unwrap();
    c.auth.reset_url = "http://127.0.0.1:3000/reset".into();
    c.check()
        .expect("plain http to this machine (the local stack)");
    c.auth.reset_ttl_ms = 59_999;
    assert!(c
        .check()
        .unwrap_err()
        .to_string()
        .contains("auth.reset_ttl_ms"));
}

#[test]
fn webhooks_reach_private_networks_only_when_embedded_or_allowed() {
    figment::Jail::expect_with(|jail| {
        let c = Config::load(&Sources::default()).unwrap();
        assert!(!c.webhooks.allow_private_networks, "refused by default");
        assert!(
            c.webhooks_may_reach_private_networks(),
            "the embedded configuration"
        );
        jail.set_env("ORDERFLOW_ADAPTERS__STORE", "mongo");
        jail.set_env("ORDERFLOW_AUTH__JWT_SECRET", REAL_SECRET);
        jail.set_env(
            "ORDERFLOW_BOOTSTRAP__ADMIN_PASSWORD",
            "another-real-password",
        );
        let c = Config::load(&Sources::default()).unwrap();
        assert!(
            !c.webhooks_may_reach_private_networks(),
            "a shared store is not embedded"
        );
        jail.set_env("ORDERFLOW_WEBHOOKS__ALLOW_PRIVATE_NETWORKS", "true");
        let c = Config::load(&Sources::default()).unwrap();
        assert!(c.webhooks_may_reach_private_networks());
        Ok(())
    });
}

#[test]
fn an_ack_that_could_outwait_its_delivery_refuses_the_start() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("ORDERFLOW_WORKER__ACK_LINGER_MS", "8000");
        let err = Config::load(&Sources::default()).unwrap_err().to_string();
        assert!(
            err.contains("worker.ack_linger_ms") && err.contains("visibility"),
            "{err}"
        );
        jail.set_env("ORDERFLOW_WORKER__ACK_LINGER_MS", "200");
        Config::load(&Sources::default()).map_err(|e| e.to_string())?;
        Ok(())
    });
}

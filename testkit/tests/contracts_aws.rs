//! The queue contract against SQS, on moto (`ORDERFLOW_TEST_AWS_ENDPOINT`) and again on
//! LocalStack (`ORDERFLOW_TEST_LOCALSTACK_ENDPOINT`), and the mailer contract against
//! SES v2 on moto (LocalStack's free emulator has no SES v2). One queue pair per test.

use orderflow::config::{AwsConfig, Secret};
use orderflow_adapter_ses::{SesMailer, SesSettings};
use orderflow_adapter_sqs::{SqsQueue, SqsSettings};
use orderflow_core::ports::Queue;
use orderflow_testkit::services::{aws_endpoint, localstack_endpoint, ses_endpoint, unique};
use std::sync::Arc;
use std::time::Duration;

async fn sdk(endpoint: Option<String>) -> Option<(aws_config::SdkConfig, String)> {
    let endpoint = endpoint?;
    let c = AwsConfig {
        region: "us-east-1".into(),
        endpoint_url: Some(endpoint.clone()),
        access_key_id: Some("test".into()),
        secret_access_key: Some(Secret::new("test")),
    };
    Some((orderflow::aws::sdk_config(&c).await, endpoint))
}

async fn queue_on(
    endpoint: Option<String>,
    visibility: Duration,
    max_receives: u32,
) -> Option<Arc<dyn Queue>> {
    let (sdk, _) = sdk(endpoint).await?;
    let settings = test_queue(visibility, max_receives);
    Some(Arc::new(
        SqsQueue::connect(&sdk, settings)
            .await
            .expect("create the test queues"),
    ))
}

/// A queue pair of the test's own, created at connect.
fn test_queue(visibility: Duration, max_receives: u32) -> SqsSettings {
    let name = unique("orderflow-test");
    SqsSettings {
        queue_name: name.clone(),
        dlq_name: format!("{name}-dlq"),
        create_queues: true,
        visibility_timeout: visibility,
        max_receives,
        call_timeout: Duration::from_secs(10),
    }
}

async fn queue(visibility: Duration, max_receives: u32) -> Option<Arc<dyn Queue>> {
    queue_on(aws_endpoint().await, visibility, max_receives).await
}

orderflow_testkit::queue_contract!(queue);

mod localstack {
    use super::*;

    async fn queue(visibility: Duration, max_receives: u32) -> Option<Arc<dyn Queue>> {
        queue_on(localstack_endpoint().await, visibility, max_receives).await
    }

    orderflow_testkit::queue_contract!(queue);
}

#[tokio::test]
async fn ses_mail_reaches_the_provider() {
    let Some((sdk, endpoint)) = sdk(ses_endpoint().await).await else {
        return;
    };
    let from = format!("{}@orderflow.test", unique("sender"));
    let mailer = SesMailer::new(
        &sdk,
        SesSettings {
            from,
            configuration_set: None,
            timeout: Duration::from_secs(10),
        },
    );
    orderflow_core::ports::Health::health(&mailer)
        .await
        .expect("SES answers, before the sender exists");
    mailer.create_identity().await.expect("identity");
    orderflow_core::ports::Health::health(&mailer)
        .await
        .expect("SES answers");
    // moto keeps sent mail in its state dump; LocalStack serves it at /_aws/ses.
    let read = || {
        let endpoint = endpoint.clone();
        async move {
            let moto = reqwest::get(format!("{endpoint}/moto-api/data.json"))
                .await
                .ok()
                .filter(|r| r.status().is_success());
            let messages = match moto {
                Some(r) => r.json::<serde_json::Value>().await.unwrap_or_default()["ses"]
                    ["Message"]
                    .clone(),
                None => reqwest::get(format!("{endpoint}/_aws/ses"))
                    .await
                    .expect("LocalStack's SES endpoint")
                    .json::<serde_json::Value>()
                    .await
                    .unwrap_or_default()["messages"]
                    .clone(),
            };
            messages
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
        }
    };
    orderflow_testkit::contracts::mailer::delivers_to_the_mailbox(Arc::new(mailer), read).await;
}

#[tokio::test]
async fn ses_refuses_an_unverified_sender_for_good() {
    let Some((sdk, _)) = sdk(ses_endpoint().await).await else {
        return;
    };
    let mailer = SesMailer::new(
        &sdk,
        SesSettings {
            from: format!("{}@nowhere.test", unique("unverified")),
            configuration_set: None,
            timeout: Duration::from_secs(10),
        },
    );
    let email = orderflow_testkit::contracts::mailer::any_email();
    let err = orderflow_core::ports::Mailer::send(&mailer, &email)
        .await
        .unwrap_err();
    assert!(
        matches!(err, orderflow_core::ports::MailError::Rejected(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_hung_ses_endpoint_fails_the_send_within_its_timeout() {
    // Accepts connections and never answers, like a stalled provider.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((c, _)) = silent.accept().await {
            open.push(c);
        }
    });
    let (sdk, _) = sdk(Some(endpoint)).await.expect("sdk");
    let mailer = SesMailer::new(
        &sdk,
        SesSettings {
            from: "orders@orderflow.test".into(),
            configuration_set: None,
            timeout: Duration::from_millis(500),
        },
    );
    let email = orderflow_testkit::contracts::mailer::any_email();
    let sent = tokio::time::timeout(
        Duration::from_secs(10),
        orderflow_core::ports::Mailer::send(&mailer, &email),
    )
    .await
    .expect("the send gave up on its own, well before the test's bound");
    assert!(
        matches!(sent, Err(orderflow_core::ports::MailError::Unavailable(_))),
        "{sent:?}"
    );
    held.abort();
}

/// Dead letters on SQS as AWS answers, not as an emulator does: through a proxy that
/// gives one message per receive, nothing to a short poll, and errors on demand.
/// Listing leaves every dead letter visible at once (after an error too), and a
/// redrive moves every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_in_place_and_all_redriven_whatever_a_receive_answers() {
    use orderflow_core::ports::{Outgoing, TraceContext};
    use orderflow_testkit::sqs_proxy::SqsProxy;
    use std::collections::BTreeSet;

    let Some((direct_sdk, endpoint)) = sdk(aws_endpoint().await).await else {
        return;
    };
    let name = unique("orderflow-test");
    let settings = SqsSettings {
        queue_name: name.clone(),
        dlq_name: format!("{name}-dlq"),
        create_queues: true,
        visibility_timeout: Duration::from_secs(30),
        max_receives: 1,
        call_timeout: Duration::from_secs(10),
    };
    let direct = SqsQueue::connect(&direct_sdk, settings.clone())
        .await
        .expect("create the test queues");
    let proxy = SqsProxy::start(&endpoint).await;
    let (proxied_sdk, _) = sdk(Some(proxy.endpoint.clone())).await.expect("sdk");
    let flaky = SqsQueue::connect(
        &proxied_sdk,
        SqsSettings {
            create_queues: false,
            ..settings
        },
    )
    .await
    .expect("resolve the test queues through the proxy");

    // 25 messages, each received once and given back: with max_receives = 1 the next
    // receive moves them to the dead-letter queue.
    let bodies: BTreeSet<String> = (0..25).map(|i| format!("{{\"dead\":{i}}}")).collect();
    let outgoing: Vec<Outgoing> = bodies
        .iter()
        .map(|b| Outgoing {
            body: b.clone(),
            trace: TraceContext::default(),
        })
        .collect();
    assert!(direct.publish(&outgoing).await.unwrap().refused.is_empty());
    let mut taken = 0;
    while taken < bodies.len() {
        let got = direct.receive(10, Duration::from_secs(2)).await.unwrap();
        assert!(!got.is_empty(), "only {taken} of 25 delivered");
        for d in got {
            direct
                .retry_after(&d.receipt, Duration::ZERO)
                .await
                .unwrap();
            taken += 1;
        }
    }
    assert!(
        direct
            .receive(10, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty(),
        "dead-lettered, not delivered again"
    );

    let listed = |letters: Vec<orderflow_core::ports::DeadLetter>| -> BTreeSet<String> {
        letters.into_iter().map(|d| d.body).collect()
    };
    proxy.one_per_receive(true);
    proxy.empty_short_polls(true);
    assert_eq!(
        listed(flaky.dead_letters(100).await.unwrap()),
        bodies,
        "all listed"
    );
    assert_eq!(
        listed(flaky.dead_letters(100).await.unwrap()),
        bodies,
        "and all visible again at once"
    );

    proxy.fail_receives_after(3);
    assert!(
        flaky.dead_letters(100).await.is_err(),
        "the listing reports the failure"
    );
    proxy.heal();
    assert_eq!(
        listed(flaky.dead_letters(100).await.unwrap()),
        bodies,
        "what the failed listing had seen is visible again at once"
    );

    let receives = proxy.receives();
    assert_eq!(flaky.redrive(100).await.unwrap(), 25, "every one redriven");
    assert!(
        proxy.receives() > receives,
        "the redrive went through the proxy"
    );
    let mut back = BTreeSet::new();
    while back.len() < bodies.len() {
        let got = direct.receive(10, Duration::from_secs(2)).await.unwrap();
        assert!(!got.is_empty(), "only {} of 25 back", back.len());
        for d in got {
            assert_eq!(d.receive_count, 1, "a fresh count after the redrive");
            direct.ack(&d.receipt).await.unwrap();
            back.insert(d.body);
        }
    }
    assert_eq!(back, bodies);
    assert!(flaky.dead_letters(100).await.unwrap().is_empty());
}

/// Every request sent to SQS is counted under its action, as SQS bills it: a batch of
/// three published, received and acked is three requests, and a request SQS refuses
/// is a failure too.
#[tokio::test]
async fn every_sqs_request_is_counted_under_its_action() {
    use orderflow_core::ports::{Outgoing, TraceContext};
    use orderflow_testkit::meter::CountingMeter;

    let Some((sdk, _)) = sdk(aws_endpoint().await).await else {
        return;
    };
    let settings = test_queue(Duration::from_secs(30), 5);
    let meter = Arc::new(CountingMeter::default());
    let queue = SqsQueue::connect_metered(&sdk, settings.clone(), meter.clone())
        .await
        .unwrap();
    assert!(meter.count("queue CreateQueue") >= 2, "{:?}", meter.all());

    meter.reset();
    let messages: Vec<Outgoing> = (0..3)
        .map(|i| Outgoing {
            body: format!("{{\"n\":{i}}}"),
            trace: TraceContext::default(),
        })
        .collect();
    let published = queue.publish(&messages).await.unwrap();
    assert!(published.refused.is_empty(), "{published:?}");
    let mut got = Vec::new();
    while got.len() < 3 {
        got.extend(queue.receive(10, Duration::from_secs(1)).await.unwrap());
    }
    let receives = meter.count("queue ReceiveMessage");
    let receipts: Vec<_> = got.iter().map(|d| d.receipt.clone()).collect();
    queue.ack_many(&receipts).await.unwrap();
    assert_eq!(
        meter.count("queue SendMessageBatch"),
        1,
        "{:?}",
        meter.all()
    );
    assert_eq!(
        meter.count("queue DeleteMessageBatch"),
        1,
        "{:?}",
        meter.all()
    );
    let total: u64 = meter
        .all()
        .iter()
        .filter(|(k, _)| k.starts_with("queue "))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(total, 2 + receives, "{:?}", meter.all());

    // A queue that does not exist: SQS refuses the look-up.
    meter.reset();
    let missing = SqsSettings {
        queue_name: unique("orderflow-missing"),
        create_queues: false,
        ..settings
    };
    assert!(SqsQueue::connect_metered(&sdk, missing, meter.clone())
        .await
        .is_err());
    assert!(
        meter.count("queue-failure GetQueueUrl") >= 1,
        "{:?}",
        meter.all()
    );
    assert_eq!(
        meter.count("queue-failure GetQueueUrl"),
        meter.count("queue GetQueueUrl"),
        "{:?}",
        meter.all()
    );
}

//! The store and the core's merchant, key, token and replay rules, on every engine.

use bayar_core::commands::{ClaimExternalId, CreatePayment};
use bayar_core::merchant::{ClientId, MerchantName, NewMerchant, NotifyUrl};
use bayar_core::payment::{Channel, PartnerReference, PaymentStatus};
use bayar_core::portal::ApiCall;
use bayar_core::testing;
use bayar_core::{Core, CoreConfig, CoreError};
use chrono::{Duration, SubsecRound, TimeZone, Utc};

fn new_merchant(name: &str) -> NewMerchant {
    NewMerchant {
        name: MerchantName::parse(name).unwrap(),
        notify_url: Some(NotifyUrl::parse("http://127.0.0.1:9/notify").unwrap()),
        public_key: None,
    }
}

#[tokio::test]
async fn gateway_keys_are_created_once_and_shared() {
    for t in testing::all().await {
        let first = Core::start(t.store.clone(), CoreConfig::default())
            .await
            .unwrap();
        let second = Core::start(t.store.clone(), CoreConfig::default())
            .await
            .unwrap();
        assert_eq!(
            first.gateway_public_key(),
            second.gateway_public_key(),
            "{}: a second process must load the same gateway key",
            t.engine
        );
        // A token issued by one process verifies in the other: the token key is shared too.
        let m = first
            .create_merchant(new_merchant("Toko"))
            .await
            .unwrap()
            .merchant;
        let token = first.issue_b2b_token(&m, Utc::now());
        assert_eq!(
            second.check_b2b_token(token.token.expose(), Utc::now()),
            Ok(m.client_id.clone()),
            "{}",
            t.engine
        );
    }
}

#[tokio::test]
async fn merchants_round_trip_with_their_keys() {
    for t in testing::all().await {
        let core = Core::start(t.store.clone(), CoreConfig::default())
            .await
            .unwrap();
        let created = core
            .create_merchant(new_merchant("Toko Maju"))
            .await
            .unwrap();
        let pem = created
            .private_key_pem
            .as_ref()
            .expect("bayar generated the pair");
        let private = bayar_snap::PrivateKey::from_pem(pem.expose()).unwrap();
        let m = &created.merchant;

        let found = core
            .merchant_by_client_id(&m.client_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, m.id, "{}", t.engine);
        assert_eq!(found.client_secret, m.client_secret, "{}", t.engine);
        assert_eq!(found.notify_url, m.notify_url, "{}", t.engine);
        assert_eq!(found.public_key, private.public_key(), "{}", t.engine);
        assert_eq!(
            found.created_at.timestamp_millis(),
            m.created_at.timestamp_millis()
        );

        // A merchant who brings a key keeps it, and gets no private key back.
        let own = bayar_snap::PrivateKey::generate().unwrap();
        let brought = core
            .create_merchant(NewMerchant {
                public_key: Some(own.public_key()),
                ..new_merchant("Warung")
            })
            .await
            .unwrap();
        assert!(brought.private_key_pem.is_none());
        assert_eq!(brought.merchant.public_key, own.public_key());

        let all = core.merchants().await.unwrap();
        assert_eq!(all.len(), 2, "{}", t.engine);
        assert_eq!(all[0].id, m.id, "{}: oldest first", t.engine);
        let unknown = ClientId::parse("BYR-00000000000000000000").unwrap();
        assert!(
            core.merchant_by_client_id(&unknown)
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn external_ids_are_single_use_per_jakarta_day() {
    for t in testing::all().await {
        let core = Core::start(t.store.clone(), CoreConfig::default())
            .await
            .unwrap();
        let a = core
            .create_merchant(new_merchant("A"))
            .await
            .unwrap()
            .merchant;
        let b = core
            .create_merchant(new_merchant("B"))
            .await
            .unwrap()
            .merchant;
        // 16:59 UTC is 23:59 in Jakarta; 17:00 UTC is the next Jakarta day.
        let late = Utc.with_ymd_and_hms(2026, 11, 23, 16, 59, 0).unwrap();
        let next_day = late + Duration::minutes(1);
        let claim = |merchant_id, path: &str, at| ClaimExternalId {
            merchant_id,
            day: bayar_snap::time::jakarta_date(at),
            external_id: "123".into(),
            path: path.into(),
        };

        core.run(claim(a.id, "/p", late)).await.unwrap();
        assert!(
            matches!(
                core.run(claim(a.id, "/other", late)).await,
                Err(CoreError::DuplicateExternalId)
            ),
            "{}: reuse on the same day, any path, is refused",
            t.engine
        );
        core.run(claim(b.id, "/p", late))
            .await
            .expect("another merchant may use the same id");
        core.run(claim(a.id, "/p", next_day))
            .await
            .expect("the next Jakarta day may reuse it");
    }
}

#[tokio::test]
async fn payments_are_found_by_either_reference_and_only_by_their_merchant() {
    for t in testing::all().await {
        let core = Core::start(t.store.clone(), CoreConfig::default())
            .await
            .unwrap();
        let a = core
            .create_merchant(new_merchant("A"))
            .await
            .unwrap()
            .merchant;
        let b = core
            .create_merchant(new_merchant("B"))
            .await
            .unwrap()
            .merchant;
        let created = core
            .run(CreatePayment {
                merchant_id: a.id,
                partner_reference_no: PartnerReference::parse("INV-1").unwrap(),
                external_id: "ext-1".into(),
                channel: Channel::DanaWallet,
                face: bayar_core::payment::Face::Doku,
                amount: bayar_snap::Money::parse("10000.00").unwrap(),
                valid_until: None,
                title: None,
                return_url: None,
                notify_url: None,
            })
            .await
            .unwrap()
            .payment;
        let id = created.id;
        let by_partner = core
            .find_payment(&a.id, Some("INV-1"), None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_partner, created, "{}", t.engine);
        assert_eq!(by_partner.status, PaymentStatus::Created);
        assert_eq!(by_partner.amount.to_string(), "10000.00");
        let by_ref = core
            .find_payment(&a.id, None, Some(&id.to_string()))
            .await
            .unwrap();
        assert_eq!(by_ref.map(|p| p.id), Some(id), "{}", t.engine);
        assert!(
            core.find_payment(&a.id, Some("INV-1"), Some("pay_other"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            core.find_payment(&b.id, Some("INV-1"), None)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            core.find_payment(&a.id, None, None)
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn healthy_store_answers_ping() {
    for t in testing::all().await {
        t.store.ping().await.unwrap();
        t.store.close().await;
        assert!(
            t.store.ping().await.is_err(),
            "{}: a closed store is not healthy",
            t.engine
        );
    }
}

#[tokio::test]
async fn the_distinct_api_outcomes_are_kept_up_to_date_across_batches() {
    for t in testing::all().await {
        let core = Core::start(t.store.clone(), CoreConfig::default())
            .await
            .unwrap();
        let merchant = core
            .create_merchant(new_merchant("Toko Outcomes"))
            .await
            .unwrap()
            .merchant;
        let other = core
            .create_merchant(new_merchant("Toko Other"))
            .await
            .unwrap()
            .merchant;
        let mut ids = ulid::Generator::new();
        let mut call = |merchant_id, status: u16, code: Option<&str>, latency_ms| ApiCall {
            id: ids.generate().unwrap().to_string(),
            merchant_id,
            at: Utc::now().trunc_subsecs(3),
            method: "POST".into(),
            path: "/direct-debit/core/v1/debit/payment-host-to-host".into(),
            http_status: status,
            response_code: code.map(str::to_string),
            message: None,
            latency_ms,
        };
        // Two batches (each waited for): the same outcome three times, twice in one batch.
        let first = [
            call(merchant.id, 200, Some("2005400"), 7),
            call(merchant.id, 200, Some("2005400"), 3),
            call(merchant.id, 403, Some("4035414"), 5),
            call(other.id, 401, None, 1),
        ];
        let second = [call(merchant.id, 200, Some("2005400"), 4)];
        for batch in [&first[..], &second[..]] {
            let logged = core.api_log(&merchant.id, None, 100).await.unwrap().len();
            for c in batch {
                core.record_api_call(c.clone()).await.unwrap();
            }
            let want = logged
                + batch
                    .iter()
                    .filter(|c| c.merchant_id == merchant.id)
                    .count();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while core.api_log(&merchant.id, None, 100).await.unwrap().len() < want {
                assert!(std::time::Instant::now() < deadline, "{}", t.engine);
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        let mut outcomes = core.api_outcomes(&merchant.id).await.unwrap();
        outcomes.sort_by_key(|o| o.http_status);
        assert_eq!(outcomes.len(), 2, "{}: {outcomes:?}", t.engine);
        let (ok, funds) = (&outcomes[0], &outcomes[1]);
        assert_eq!(ok.response_code.as_deref(), Some("2005400"));
        assert_eq!(ok.id, second[0].id, "{}: the latest call", t.engine);
        assert_eq!(ok.latency_ms, 7, "{}: the slowest call", t.engine);
        assert_eq!(ok.message, None);
        assert_eq!((funds.http_status, funds.latency_ms), (403, 5));
        let theirs = core.api_outcomes(&other.id).await.unwrap();
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0].response_code, None, "{}", t.engine);
    }
}

#[tokio::test]
async fn queued_api_calls_are_all_written_in_batches_in_order() {
    for t in testing::all().await {
        let core = Core::start(t.store.clone(), CoreConfig::default())
            .await
            .unwrap();
        let merchant = core
            .create_merchant(new_merchant("Toko Log"))
            .await
            .unwrap()
            .merchant;
        // More than one multi-row statement's worth (100 rows), queued at once; ids made
        // monotonic, as the log's order is its ids'.
        let mut ids = ulid::Generator::new();
        let calls: Vec<ApiCall> = (0..250)
            .map(|i| ApiCall {
                id: ids.generate().unwrap().to_string(),
                merchant_id: merchant.id,
                at: Utc::now().trunc_subsecs(3),
                method: "POST".into(),
                path: format!("/call/{i}"),
                http_status: 200,
                response_code: (i % 2 == 0).then(|| "2005400".to_string()),
                message: None,
                latency_ms: i,
            })
            .collect();
        for call in &calls {
            core.record_api_call(call.clone()).await.unwrap();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut logged = Vec::new();
        while logged.len() < calls.len() {
            assert!(
                std::time::Instant::now() < deadline,
                "{}: {} logged",
                t.engine,
                logged.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            logged.clear();
            let mut before: Option<String> = None;
            loop {
                let page = core
                    .api_log(&merchant.id, before.as_deref(), 100)
                    .await
                    .unwrap();
                let Some(last) = page.last() else { break };
                before = Some(last.id.clone());
                logged.extend(page);
            }
        }
        logged.reverse();
        assert_eq!(logged.len(), calls.len(), "{}", t.engine);
        for (logged, call) in logged.iter().zip(&calls) {
            assert_eq!(logged, call, "{}", t.engine);
        }
    }
}

/// The WAL must start over once checkpointed, not grow with every commit: a background
/// checkpoint alone never catches up with a busy writer, so the write path keeps its own.
#[tokio::test]
async fn the_sqlite_wal_stays_bounded_under_many_commits() {
    let t = testing::sqlite().await;
    let core = Core::start(t.store.clone(), CoreConfig::default())
        .await
        .unwrap();
    let m = core
        .create_merchant(new_merchant("Toko"))
        .await
        .unwrap()
        .merchant;
    let day = bayar_snap::time::jakarta_date(Utc::now());
    // Each claim is its own commit of a few pages: 3,000 of them write well over the 1,000
    // pages after which the writer checkpoints.
    for n in 0..3000 {
        core.run(ClaimExternalId {
            merchant_id: m.id,
            day,
            external_id: n.to_string(),
            path: "/p".into(),
        })
        .await
        .unwrap();
    }
    let url = t.sqlite_url.as_deref().unwrap();
    let wal = format!("{}-wal", url.trim_start_matches("sqlite:"));
    let size = std::fs::metadata(&wal).unwrap().len();
    // 1,000 pages of 4 KiB, plus the commits that ran while a checkpoint was pending.
    assert!(size < 8 << 20, "the WAL grew to {size} bytes");
}

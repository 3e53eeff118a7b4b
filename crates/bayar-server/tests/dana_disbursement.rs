//! DANA "Disbursement to Balance" over HTTP on every engine: balance check (OPEN_API), account
//! inquiry, top-up, top-up status; the refusals the seed names (insufficient deposit, frozen
//! wallet, inconsistent repeat, a lost answer followed by the status query); DANA's header
//! checks in DANA's order; exact balances and a sound ledger at the end. Then transfer to
//! bank: inquiry, transfer, repeat, status, refusals and DANA's sandbox accounts.

mod common;

use bayar_core::NewCustomer;
use bayar_core::commands::{FundDeposit, SetCustomerStatus};
use bayar_core::customer::{Customer, CustomerStatus, PhoneNumber, Pin, Rail};
use bayar_core::ledger::AccountId;
use bayar_core::testing;
use bayar_snap::Money;
use common::TestApp;
use serde_json::{Value, json};

const INQUIRY: &str = "/rest/v1.0/emoney/account-inquiry";
const TOPUP: &str = "/rest/v1.0/emoney/topup";
const STATUS: &str = "/rest/v1.0/emoney/topup-status";
const INQUIRY_HTM: &str = "/v1.0/emoney/account-inquiry.htm";
const TOPUP_HTM: &str = "/v1.0/emoney/topup.htm";
const STATUS_HTM: &str = "/v1.0/emoney/topup-status.htm";
const RESOURCE: &str = "/dana/merchant/queryMerchantResource.htm";
const RESOURCE_FN: &str = "dana.merchant.queryMerchantResource";

const PHONE: &str = "62811742234";
const FROZEN: &str = "6281112223334";
const LOST_ANSWER: &str = "628551008794";

fn money(s: &str) -> Money {
    Money::parse(s).unwrap()
}

fn amount(value: &str) -> Value {
    json!({"value": value, "currency": "IDR"})
}

async fn wallet(app: &TestApp, phone: &str, opening: &str) -> Customer {
    app.core
        .create_customer(NewCustomer {
            rail: Rail::Wallet,
            phone: PhoneNumber::parse(phone).unwrap(),
            pin: Pin::parse("123456").unwrap(),
            opening_balance: money(opening),
        })
        .await
        .unwrap()
}

async fn balance(app: &TestApp, account: &AccountId) -> String {
    let minor = app
        .core
        .balance(account)
        .await
        .unwrap()
        .map_or(0, |b| b.posted);
    Money::from_minor(minor).unwrap().to_string()
}

fn topup(reference: &str, phone: &str, value: &str) -> Value {
    json!({
        "partnerReferenceNo": reference,
        "customerNumber": phone,
        "amount": amount(value),
        "feeAmount": amount("2500.00"),
        "transactionDate": TestApp::now(),
        "additionalInfo": {"fundType": "AGENT_TOPUP_FOR_USER_SETTLE"},
    })
}

fn status(reference: &str) -> Value {
    json!({"originalPartnerReferenceNo": reference, "serviceCode": "38"})
}

async fn resources(app: &TestApp) -> Value {
    let body = json!({
        "requestMerchantId": app.merchant.id.to_string(),
        "merchantResourceInfoList": ["MERCHANT_DEPOSIT_BALANCE", "MERCHANT_TOTAL_BALANCE"],
    });
    let (http, reply) = app
        .post_open_api(RESOURCE, &app.dana_open_api(RESOURCE_FN, &body))
        .await;
    assert_eq!(http, 200);
    reply
}

fn resource_value(reply: &Value, index: usize) -> Value {
    let text = reply["response"]["body"]["merchantResourceInformations"][index]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no resource {index}: {reply}"));
    serde_json::from_str(text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn disbursement_to_balance_on_every_engine() {
    for store in testing::all().await {
        let engine = store.engine;
        let mut app = TestApp::spawn(store).await;
        journey(&app).await;
        refusals(&app).await;
        sandbox_magic(&app).await;
        header_checks(&app).await;
        open_api_checks(&app).await;
        final_balances(&app).await;
        assert!(
            app.core.verify_ledger().await.unwrap().is_empty(),
            "{engine}: ledger breaches"
        );
        app.stop().await;
    }
}

/// Balance check, inquiry, top-up, repeat, status, on both path families.
async fn journey(app: &TestApp) {
    app.core
        .run(FundDeposit {
            merchant_id: app.merchant.id,
            amount: money("100000.00"),
            reference: "fund-1".into(),
        })
        .await
        .unwrap();
    let customer = wallet(app, PHONE, "0.00").await;

    let reply = resources(app).await;
    let response = &reply["response"];
    assert_eq!(response["head"]["function"], RESOURCE_FN, "{reply}");
    assert_eq!(response["body"]["resultInfo"]["resultStatus"], "S");
    assert_eq!(response["body"]["resultInfo"]["resultCode"], "SUCCESS");
    assert!(reply["signature"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        resource_value(&reply, 0),
        json!({"amount": "100000.00", "currency": "IDR"})
    );

    for path in [INQUIRY, INQUIRY_HTM] {
        let reply = app
            .dana_post(
                path,
                &json!({
                    "partnerReferenceNo": "inq-1",
                    "customerNumber": PHONE,
                    "amount": amount("10000.00"),
                    "transactionDate": TestApp::now(),
                    "additionalInfo": {"fundType": "AGENT_TOPUP_FOR_USER_SETTLE"},
                }),
            )
            .await;
        assert_eq!(
            (reply.status, reply.code.as_str()),
            (200, "2003700"),
            "{reply:?}"
        );
        let b = &reply.body;
        assert_eq!(b["customerNumber"], PHONE);
        assert_eq!(b["partnerReferenceNo"], "inq-1");
        assert!(
            b["customerName"]
                .as_str()
                .is_some_and(|n| n.ends_with("2234"))
        );
        assert_eq!(b["minAmount"], amount("1.00"));
        assert_eq!(b["maxAmount"], amount("20000000.00"));
        assert_eq!(b["amount"], amount("10000.00"));
        assert_eq!(b["feeAmount"], amount("2500.00"));
    }

    let first = app
        .dana_post(TOPUP, &topup("top-a", PHONE, "10000.00"))
        .await;
    assert_eq!(
        (first.status, first.code.as_str()),
        (200, "2003800"),
        "{first:?}"
    );
    assert_eq!(first.message, "Successful");
    assert_eq!(first.body["partnerReferenceNo"], "top-a");
    assert_eq!(first.body["amount"], amount("10000.00"));
    let reference = first.body["referenceNo"].as_str().unwrap().to_string();
    assert_eq!(balance(app, &customer.account).await, "10000.00");

    // A retry (the .htm alias, as npm dana-node 1.5.11 sends it) replays the original.
    let again = app
        .dana_post(TOPUP_HTM, &topup("top-a", PHONE, "10000.00"))
        .await;
    assert_eq!(again.code, "2003800", "{again:?}");
    assert_eq!(again.body["referenceNo"], reference.as_str());
    assert_eq!(balance(app, &customer.account).await, "10000.00");

    for path in [STATUS, STATUS_HTM] {
        let reply = app.dana_post(path, &status("top-a")).await;
        assert_eq!(
            (reply.status, reply.code.as_str()),
            (200, "2003900"),
            "{reply:?}"
        );
        assert_eq!(reply.body["originalPartnerReferenceNo"], "top-a");
        assert_eq!(reply.body["originalReferenceNo"], reference.as_str());
        assert_eq!(reply.body["serviceCode"], "38");
        assert_eq!(reply.body["amount"], amount("10000.00"));
        assert_eq!(reply.body["latestTransactionStatus"], "00");
        assert_eq!(reply.body["transactionStatusDesc"], "Success");
    }
}

/// Insufficient deposit, frozen wallet, inconsistent repeat, unknown numbers and references.
async fn refusals(app: &TestApp) {
    // 87,500.00 is left; 90,000.00 + 2,500.00 fee does not fit.
    for _ in 0..2 {
        let reply = app
            .dana_post(TOPUP, &topup("top-b", PHONE, "90000.00"))
            .await;
        assert_eq!(
            (reply.status, reply.code.as_str()),
            (403, "4033814"),
            "{reply:?}"
        );
        assert_eq!(reply.body["partnerReferenceNo"], "top-b");
    }
    let reply = app.dana_post(STATUS, &status("top-b")).await;
    assert_eq!(reply.code, "2003900", "{reply:?}");
    assert_eq!(reply.body["latestTransactionStatus"], "06");
    assert_eq!(reply.body["transactionStatusDesc"], "Failed");
    assert_eq!(reply.body["amount"], amount("90000.00"));

    let frozen = wallet(app, FROZEN, "0.00").await;
    app.core
        .run(SetCustomerStatus {
            customer_id: frozen.id,
            status: CustomerStatus::Frozen,
        })
        .await
        .unwrap();
    let reply = app
        .dana_post(TOPUP, &topup("top-c", FROZEN, "1000.00"))
        .await;
    assert_eq!(
        (reply.status, reply.code.as_str()),
        (403, "4033805"),
        "{reply:?}"
    );
    assert_eq!(reply.body["partnerReferenceNo"], "top-c");
    let reply = app.dana_post(STATUS, &status("top-c")).await;
    assert_eq!(reply.body["latestTransactionStatus"], "06", "{reply:?}");
    let reply = app
        .dana_post(
            INQUIRY,
            &json!({"customerNumber": FROZEN, "amount": amount("1.00"),
                    "additionalInfo": {"fundType": "AGENT_TOPUP_FOR_USER_SETTLE"}}),
        )
        .await;
    assert_eq!(
        (reply.status, reply.code.as_str()),
        (403, "4033705"),
        "{reply:?}"
    );
    assert_eq!(reply.body["customerNumber"], FROZEN);
    assert_eq!(
        reply.body["additionalInfo"]["resultMsg"],
        "PAYEE_USER_STATUS_DISABLE"
    );

    let reply = app
        .dana_post(TOPUP, &topup("top-a", PHONE, "10001.00"))
        .await;
    assert_eq!(
        (reply.status, reply.code.as_str()),
        (404, "4043818"),
        "{reply:?}"
    );
    assert_eq!(reply.message, "Inconsistent Request");
    assert_eq!(reply.body["partnerReferenceNo"], "top-a");

    let reply = app
        .dana_post(TOPUP, &topup("top-x", "6281999999999", "1000.00"))
        .await;
    assert_eq!(
        (reply.status, reply.code.as_str()),
        (404, "4043811"),
        "{reply:?}"
    );

    let reply = app.dana_post(STATUS, &status("never-made")).await;
    assert_eq!(
        (reply.status, reply.code.as_str()),
        (404, "4043901"),
        "{reply:?}"
    );
    assert_eq!(reply.body["originalPartnerReferenceNo"], "never-made");
    let reply = app
        .dana_post(
            STATUS,
            &json!({"originalPartnerReferenceNo": "top-a", "serviceCode": "ab"}),
        )
        .await;
    assert_eq!(
        (reply.code.as_str(), reply.message.as_str()),
        ("4003901", "Invalid Field Format serviceCode")
    );
    assert_eq!(reply.body["serviceCode"], "ab");

    let mut body = topup("top-y", PHONE, "1000.00");
    body.as_object_mut().unwrap().remove("customerNumber");
    let reply = app.dana_post(TOPUP, &body).await;
    assert_eq!(
        (reply.status, reply.code.as_str(), reply.message.as_str()),
        (400, "4003802", "Invalid Mandatory Field customerNumber")
    );
    assert_eq!(reply.body["partnerReferenceNo"], "top-y");
    let mut body = topup("top-y", PHONE, "1000.00");
    body["amount"]["currency"] = json!("USD");
    let reply = app.dana_post(TOPUP, &body).await;
    assert_eq!(reply.code, "4003801", "{reply:?}");
    let reply = app
        .dana_post(TOPUP, &topup("top-y", PHONE, "20000000.01"))
        .await;
    assert_eq!(
        (reply.status, reply.code.as_str()),
        (403, "4033802"),
        "{reply:?}"
    );
}

/// DANA's sandbox magic values, including the seed's "5003801, then query the status".
async fn sandbox_magic(app: &TestApp) {
    let lost = wallet(app, LOST_ANSWER, "0.00").await;
    let reply = app
        .dana_post(TOPUP, &topup("top-d", LOST_ANSWER, "5000.00"))
        .await;
    assert_eq!(
        (reply.status, reply.code.as_str()),
        (500, "5003801"),
        "{reply:?}"
    );
    assert_eq!(reply.body["partnerReferenceNo"], "top-d");
    // The merchant cannot tell what happened; the status query can.
    let reply = app.dana_post(STATUS, &status("top-d")).await;
    assert_eq!(reply.body["latestTransactionStatus"], "00", "{reply:?}");
    assert_eq!(reply.body["amount"], amount("5000.00"));
    // A retry with the same reference replays the success; no second top-up.
    let reply = app
        .dana_post(TOPUP, &topup("top-d", LOST_ANSWER, "5000.00"))
        .await;
    assert_eq!(reply.code, "2003800", "{reply:?}");
    assert_eq!(balance(app, &lost.account).await, "5000.00");

    for (phone, reason) in [
        ("628123456667", "PAYEE_USER_STATUS_DISABLE"),
        ("628152768647", "PAYEE_USER_NOT_EXIST"),
    ] {
        let reply = app
            .dana_post(
                INQUIRY,
                &json!({"partnerReferenceNo": "inq-m", "customerNumber": phone,
                        "amount": amount("1.00"),
                        "additionalInfo": {"fundType": "AGENT_TOPUP_FOR_USER_SETTLE"}}),
            )
            .await;
        assert_eq!(
            (reply.status, reply.code.as_str()),
            (403, "4033705"),
            "{reply:?}"
        );
        assert_eq!(reply.body["customerNumber"], phone);
        assert_eq!(reply.body["additionalInfo"]["resultMsg"], reason);
    }
    for (phone, code) in [("628996647679", "4033805"), ("628121111111", "5003800")] {
        let reply = app
            .dana_post(TOPUP, &topup("top-m", phone, "1000.00"))
            .await;
        assert_eq!(reply.code, code, "{phone}: {reply:?}");
        assert_eq!(reply.body["partnerReferenceNo"], "top-m");
    }
    // Neither recorded anything.
    let reply = app.dana_post(STATUS, &status("top-m")).await;
    assert_eq!(reply.code, "4043901", "{reply:?}");

    // The wallet cap: 20,995,000.00 + 10,000.00 would pass 21,000,000.00.
    let rich = wallet(app, "628777000111", "20995000.00").await;
    let reply = app
        .dana_post(TOPUP, &topup("top-e", "628777000111", "10000.00"))
        .await;
    assert_eq!(
        (reply.status, reply.code.as_str()),
        (403, "4033802"),
        "{reply:?}"
    );
    assert_eq!(balance(app, &rich.account).await, "20995000.00");
    // The magic amount passes the per-transaction maximum and fails at the deposit.
    let reply = app
        .dana_post(TOPUP, &topup("top-f", PHONE, "1000000000000.00"))
        .await;
    assert_eq!(reply.code, "4033814", "{reply:?}");
}

/// Header errors in DANA's order, with the body's reference echoed.
async fn header_checks(app: &TestApp) {
    let body = topup("top-h", PHONE, "1000.00").to_string();
    let signed = app.dana_headers(TOPUP, &body, "ext-h-1");
    let without = |name: &str| -> Vec<(String, String)> {
        signed.iter().filter(|(k, _)| k != name).cloned().collect()
    };
    let with = |name: &str, value: &str| -> Vec<(String, String)> {
        signed
            .iter()
            .map(|(k, v)| (k.clone(), if k == name { value.into() } else { v.clone() }))
            .collect()
    };

    let reply = app.post(TOPUP, &without("X-TIMESTAMP"), &body).await;
    assert_eq!(
        (reply.status, reply.code.as_str(), reply.message.as_str()),
        (400, "4003802", "Invalid Mandatory Field X-TIMESTAMP")
    );
    assert_eq!(reply.body["partnerReferenceNo"], "top-h");
    let reply = app.post(TOPUP, &without("X-SIGNATURE"), &body).await;
    assert_eq!(reply.message, "Invalid Mandatory Field X-SIGNATURE");
    // Missing beats malformed: both problems, the missing header is named.
    let mut both = with("X-TIMESTAMP", "2026-01-01 10:00:00+07:00");
    both.retain(|(k, _)| k != "X-SIGNATURE");
    let reply = app.post(TOPUP, &both, &body).await;
    assert_eq!(reply.code, "4003802", "{reply:?}");

    let reply = app
        .post(
            TOPUP,
            &with("X-TIMESTAMP", "2026-01-01 10:00:00+07:00"),
            &body,
        )
        .await;
    assert_eq!(
        (reply.status, reply.code.as_str(), reply.message.as_str()),
        (400, "4003801", "Invalid Field Format X-TIMESTAMP")
    );

    // The UAT's non-RSA placeholder, then a real signature over other content.
    let placeholder = "85be817c55b2c135157c7e89f52499bf0c25ad6eeebe04a986e8c862561b19a5";
    let tampered = topup("top-h", PHONE, "9000.00").to_string();
    for (headers, body) in [
        (with("X-SIGNATURE", placeholder), body.as_str()),
        (signed.clone(), tampered.as_str()),
    ] {
        let reply = app.post(TOPUP, &headers, body).await;
        assert_eq!(
            (reply.status, reply.code.as_str(), reply.message.as_str()),
            (401, "4013800", "Unauthorized. Invalid Signature"),
            "{reply:?}"
        );
        assert_eq!(reply.body["partnerReferenceNo"], "top-h");
    }

    // Signed and valid, but a body error: checked only after the signature.
    let mut bad = topup("top-h", PHONE, "1000.00");
    bad["amount"]["value"] = json!("1000");
    let bad = bad.to_string();
    let reply = app
        .post(TOPUP, &app.dana_headers(TOPUP, &bad, "ext-h-2"), &bad)
        .await;
    assert_eq!(
        (reply.code.as_str(), reply.message.as_str()),
        ("4003801", "Invalid Field Format amount.value")
    );

    // dana-python sends spaced JSON but signs it minified.
    let spaced = serde_json::to_string_pretty(&topup("top-h", PHONE, "1000.00")).unwrap();
    let reply = app
        .post(TOPUP, &app.dana_headers(TOPUP, &spaced, "ext-h-3"), &spaced)
        .await;
    assert_eq!(reply.code, "2003800", "{reply:?}");
    // The same X-EXTERNAL-ID again the same day is a conflict, before the body is read.
    let reply = app
        .post(TOPUP, &app.dana_headers(TOPUP, &spaced, "ext-h-3"), &spaced)
        .await;
    assert_eq!(
        (reply.status, reply.code.as_str()),
        (409, "4093800"),
        "{reply:?}"
    );
}

/// OPEN_API failures answer HTTP 200 with `resultStatus:"F"`, echoing `function`.
async fn open_api_checks(app: &TestApp) {
    let body = json!({
        "requestMerchantId": app.merchant.id.to_string(),
        "merchantResourceInfoList": ["MERCHANT_DEPOSIT_BALANCE"],
    });
    let envelope = app.dana_open_api(RESOURCE_FN, &body);
    let tampered = envelope.replace("MERCHANT_DEPOSIT_BALANCE", "MERCHANT_TOTAL_BALANCE");
    let (http, reply) = app.post_open_api(RESOURCE, &tampered).await;
    assert_eq!(http, 200);
    assert_eq!(reply["response"]["head"]["function"], RESOURCE_FN);
    assert_eq!(
        reply["response"]["body"]["resultInfo"]["resultCode"], "INVALID_SIGNATURE",
        "{reply}"
    );
    assert_eq!(reply["response"]["body"]["resultInfo"]["resultStatus"], "F");

    let other = json!({"requestMerchantId": "mch_someone_else",
                       "merchantResourceInfoList": ["MERCHANT_DEPOSIT_BALANCE"]});
    let (_, reply) = app
        .post_open_api(RESOURCE, &app.dana_open_api(RESOURCE_FN, &other))
        .await;
    assert_eq!(
        reply["response"]["body"]["resultInfo"]["resultCode"], "PARAM_ILLEGAL",
        "{reply}"
    );
    let (_, reply) = app.post_open_api(RESOURCE, "{\"request\": 1}").await;
    assert_eq!(reply["response"]["body"]["resultInfo"]["resultStatus"], "F");
}

/// Deposit, wallets and fees to the sen.
async fn final_balances(app: &TestApp) {
    // 100,000 - (10,000 + 2,500) [top-a] - (5,000 + 2,500) [top-d] - (1,000 + 2,500) [top-h]
    let deposit = AccountId::merchant_deposit(&app.merchant.id);
    assert_eq!(balance(app, &deposit).await, "76500.00");
    assert_eq!(balance(app, &AccountId::gateway_fees()).await, "7500.00");
    let customer = app
        .core
        .store()
        .customer_by_phone(Rail::Wallet, &PhoneNumber::parse(PHONE).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(balance(app, &customer.account).await, "11000.00");
    let reply = resources(app).await;
    assert_eq!(
        resource_value(&reply, 0),
        json!({"amount": "76500.00", "currency": "IDR"})
    );
    // Total = deposit + available (no payments were taken here).
    assert_eq!(
        resource_value(&reply, 1),
        json!({"amount": "76500.00", "currency": "IDR"})
    );
}

const BANK_INQUIRY: &str = "/v1.0/emoney/bank-account-inquiry.htm";
const TRANSFER_BANK: &str = "/v1.0/emoney/transfer-bank.htm";
const TRANSFER_BANK_STATUS: &str = "/v1.0/emoney/transfer-bank-status.htm";

fn bank_inquiry(account: &str, value: &str) -> Value {
    json!({
        "partnerReferenceNo": "BI-1",
        "customerNumber": "6281234567890",
        "beneficiaryAccountNumber": account,
        "amount": amount(value),
        "additionalInfo": {"fundType": "MERCHANT_WITHDRAW_FOR_CORPORATE", "beneficiaryBankCode": "014"},
    })
}

fn transfer_bank(reference: &str, account: &str, value: &str) -> Value {
    json!({
        "partnerReferenceNo": reference,
        "customerNumber": "6281234567890",
        "beneficiaryAccountNumber": account,
        "beneficiaryBankCode": "014",
        "amount": amount(value),
        "additionalInfo": {"fundType": "MERCHANT_WITHDRAW_FOR_CORPORATE"},
    })
}

/// An account's posted balance in minor units (the world's is negative: it funds everything).
async fn posted_minor(app: &TestApp, account: &AccountId) -> i64 {
    let b = app.core.balance(account).await.unwrap();
    b.map_or(0, |b| b.posted)
}

fn transfer_bank_status(reference: &str) -> Value {
    json!({"originalPartnerReferenceNo": reference, "serviceCode": "43"})
}

/// Transfer to bank: inquiry, transfer, repeat, status, the refusals and the sandbox
/// accounts; the money leaves the deposit (with the fee) for the world.
#[tokio::test]
async fn transfer_to_bank_on_every_engine() {
    for store in testing::all().await {
        let engine = store.engine;
        let mut app = TestApp::spawn(store).await;
        app.core
            .run(FundDeposit {
                merchant_id: app.merchant.id,
                amount: money("100000.00"),
                reference: "bank".into(),
            })
            .await
            .unwrap();
        let world_before = posted_minor(&app, &AccountId::world()).await;

        let i = app
            .dana_post(BANK_INQUIRY, &bank_inquiry("2460888509", "30000.00"))
            .await;
        assert_eq!(
            (i.status, i.code.as_str()),
            (200, "2004200"),
            "{engine} {i:?}"
        );
        assert_eq!(i.body["beneficiaryAccountNumber"], "2460888509");
        assert_eq!(i.body["beneficiaryAccountName"], "Bank Account 8509");
        assert_eq!(i.body["amount"]["value"], "30000.00");
        assert_eq!(i.body["additionalInfo"]["feeAmount"]["value"], "2500.00");
        let mut bad = bank_inquiry("2460888509", "1.00");
        bad["additionalInfo"]["beneficiaryBankCode"] = json!("14");
        let r = app.dana_post(BANK_INQUIRY, &bad).await;
        assert_eq!(
            (r.status, r.code.as_str(), r.message.as_str()),
            (
                400,
                "4004201",
                "Invalid Field Format additionalInfo.beneficiaryBankCode"
            )
        );
        let mut missing = bank_inquiry("2460888509", "1.00");
        missing
            .as_object_mut()
            .unwrap()
            .remove("beneficiaryAccountNumber");
        let r = app.dana_post(BANK_INQUIRY, &missing).await;
        assert_eq!(
            (r.status, r.code.as_str(), r.message.as_str()),
            (
                400,
                "4004202",
                "Invalid Mandatory Field beneficiaryAccountNumber"
            )
        );
        for (account, value, status, code) in [
            ("815919191", "1.00", 404, "4044211"),
            ("81298055132", "1.00", 403, "4034218"),
            ("855100800", "1.00", 404, "4044208"),
            ("2460888509", "50000000000.00", 403, "4034214"),
        ] {
            let r = app
                .dana_post(BANK_INQUIRY, &bank_inquiry(account, value))
                .await;
            assert_eq!(
                (r.status, r.code.as_str()),
                (status, code),
                "{account} {r:?}"
            );
            assert_eq!(r.body["partnerReferenceNo"], "BI-1");
        }

        let t = app
            .dana_post(
                TRANSFER_BANK,
                &transfer_bank("BT-1", "2460888509", "30000.00"),
            )
            .await;
        assert_eq!(
            (t.status, t.code.as_str()),
            (200, "2004300"),
            "{engine} {t:?}"
        );
        assert_eq!(t.body["partnerReferenceNo"], "BT-1");
        let transaction_date = t.body["transactionDate"].as_str().unwrap();
        assert!(transaction_date.len() == 25 && transaction_date.ends_with("+07:00"));
        let again = app
            .dana_post(
                TRANSFER_BANK,
                &transfer_bank("BT-1", "2460888509", "30000.00"),
            )
            .await;
        assert_eq!(again.code, "2004300");
        assert_eq!(again.body["referenceNo"], t.body["referenceNo"]);
        for other in [
            transfer_bank("BT-1", "2460888509", "31000.00"),
            transfer_bank("BT-1", "2460888510", "30000.00"),
        ] {
            let r = app.dana_post(TRANSFER_BANK, &other).await;
            assert_eq!((r.status, r.code.as_str()), (404, "4044318"), "{r:?}");
            assert_eq!(r.body["partnerReferenceNo"], "BT-1");
        }
        let s = app
            .dana_post(TRANSFER_BANK_STATUS, &transfer_bank_status("BT-1"))
            .await;
        assert_eq!((s.status, s.code.as_str()), (200, "2000000"), "{s:?}");
        assert_eq!(s.body["latestTransactionStatus"], "00");
        assert_eq!(s.body["serviceCode"], "43");
        assert_eq!(s.body["amount"]["value"], "30000.00");
        assert_eq!(s.body["originalReferenceNo"], t.body["referenceNo"]);
        // A bank transfer is no top-up, and the other way round.
        let s = app.dana_post(STATUS, &status("BT-1")).await;
        assert_eq!((s.status, s.code.as_str()), (404, "4043901"));

        // 67,500 left: 70,000 + fee does not fit; the failure is stored and found.
        let r = app
            .dana_post(
                TRANSFER_BANK,
                &transfer_bank("BT-2", "2460888509", "70000.00"),
            )
            .await;
        assert_eq!((r.status, r.code.as_str()), (403, "4034314"), "{r:?}");
        let s = app
            .dana_post(TRANSFER_BANK_STATUS, &transfer_bank_status("BT-2"))
            .await;
        assert_eq!(
            (s.code.as_str(), &s.body["latestTransactionStatus"]),
            ("2000000", &json!("06"))
        );
        let mut no_reference = transfer_bank("BT-3", "2460888509", "1.00");
        no_reference
            .as_object_mut()
            .unwrap()
            .remove("partnerReferenceNo");
        let r = app.dana_post(TRANSFER_BANK, &no_reference).await;
        assert_eq!(
            (r.status, r.code.as_str(), r.message.as_str()),
            (400, "4004302", "Invalid Mandatory Field partnerReferenceNo")
        );
        let mut wrong_service = transfer_bank_status("BT-1");
        wrong_service["serviceCode"] = json!("38");
        let r = app.dana_post(TRANSFER_BANK_STATUS, &wrong_service).await;
        assert_eq!((r.status, r.code.as_str()), (400, "4000001"));

        // Sandbox accounts: refusals record nothing; the lost answer is made.
        for (reference, account, status, code) in [
            ("BT-M1", "82298055100", 403, "4034303"),
            ("BT-M2", "8121111111", 500, "5004300"),
            ("BT-M3", "81398055100", 403, "4034318"),
        ] {
            let r = app
                .dana_post(TRANSFER_BANK, &transfer_bank(reference, account, "1000.00"))
                .await;
            assert_eq!(
                (r.status, r.code.as_str()),
                (status, code),
                "{reference} {r:?}"
            );
            let s = app
                .dana_post(TRANSFER_BANK_STATUS, &transfer_bank_status(reference))
                .await;
            assert_eq!((s.status, s.code.as_str()), (404, "4040001"), "{reference}");
        }
        let r = app
            .dana_post(
                TRANSFER_BANK,
                &transfer_bank("BT-M4", "8551008794", "10000.00"),
            )
            .await;
        assert_eq!((r.status, r.code.as_str()), (500, "5004301"), "{r:?}");
        let s = app
            .dana_post(TRANSFER_BANK_STATUS, &transfer_bank_status("BT-M4"))
            .await;
        assert_eq!(s.body["latestTransactionStatus"], "00", "{s:?}");
        let retry = app
            .dana_post(
                TRANSFER_BANK,
                &transfer_bank("BT-M4", "8551008794", "10000.00"),
            )
            .await;
        assert_eq!(
            retry.code, "2004300",
            "the retry replays the transfer: {retry:?}"
        );

        // 100,000 - (30,000 + 2,500) - (10,000 + 2,500); the world got the 40,000.
        let deposit = AccountId::merchant_deposit(&app.merchant.id);
        assert_eq!(balance(&app, &deposit).await, "55000.00", "{engine}");
        assert_eq!(balance(&app, &AccountId::gateway_fees()).await, "5000.00");
        let world_after = posted_minor(&app, &AccountId::world()).await;
        assert_eq!(world_after - world_before, money("40000.00").minor());
        assert!(
            app.core.verify_ledger().await.unwrap().is_empty(),
            "{engine}"
        );
        app.stop().await;
    }
}

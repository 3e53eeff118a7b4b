//! Account bindings through the core, on every engine: a double-submitted PIN still delivers a
//! working auth code; wrong answers count; a wallet is authorized with phone and PIN alone, a
//! new authorization replacing the earlier binding.

mod common;

use bayar_core::commands::{Answer, BeginBinding, SubmitOtp};
use bayar_core::customer::{Pin, Rail};
use bayar_core::{CoreError, WalletAuthorization, testing};
use common::Fixture;

#[tokio::test]
async fn a_second_correct_pin_right_after_activation_reissues_the_code() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let bank = f.customer(Rail::Bank, "081400000001", "10.00").await;
        let binding = f
            .core
            .run(BeginBinding {
                merchant_id: f.merchant.id,
                rail: bayar_core::customer::Rail::Bank,
                phone: bank.phone.clone(),
                cust_id_merchant: "c-1".into(),
                success_url: "https://m.example/ok".into(),
                failed_url: "https://m.example/fail".into(),
            })
            .await
            .unwrap();
        let otp = binding.otp.expose().clone();
        f.core
            .run(SubmitOtp {
                binding_id: binding.id,
                otp,
            })
            .await
            .unwrap();
        let pin = || Pin::parse("123456").unwrap();
        let code = |answer: Answer| match answer {
            Answer::Accepted {
                auth_code: Some(code),
                ..
            } => code.expose().clone(),
            other => panic!("expected a code, got {other:?}"),
        };
        let first = code(f.core.submit_binding_pin(binding.id, pin()).await.unwrap());
        let second = code(f.core.submit_binding_pin(binding.id, pin()).await.unwrap());
        assert_ne!(first, second, "{}", f.engine);
        assert!(
            matches!(
                f.core.exchange_auth_code(&f.merchant, &first).await,
                Err(CoreError::InvalidAuthCode)
            ),
            "{}: the dropped first code no longer works",
            f.engine
        );
        f.core
            .exchange_auth_code(&f.merchant, &second)
            .await
            .unwrap();
        // A wrong PIN on an active binding changes nothing.
        assert!(matches!(
            f.core
                .submit_binding_pin(binding.id, Pin::parse("000000").unwrap())
                .await,
            Err(CoreError::BindingNotActive)
        ));
        f.core
            .exchange_auth_code(&f.merchant, &second)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_wallet_is_authorized_with_its_pin_and_three_wrong_pins_fail_the_attempt() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let wallet = f.customer(Rail::Wallet, "081400000009", "10.00").await;
        let authorize = |pin: &str, attempt| WalletAuthorization {
            merchant_id: f.merchant.id,
            phone: wallet.phone.clone(),
            pin: Pin::parse(pin).unwrap(),
            attempt,
            reference: "ext-1".into(),
            redirect_url: "https://m.example/cb".into(),
        };
        // Two wrong PINs on one attempt, then the right one: authorized.
        let (attempt, answer) = f
            .core
            .authorize_wallet(authorize("000000", None))
            .await
            .unwrap();
        assert!(
            matches!(answer, Answer::Wrong { remaining: 2 }),
            "{answer:?}"
        );
        let (same, answer) = f
            .core
            .authorize_wallet(authorize("000000", Some(attempt)))
            .await
            .unwrap();
        assert_eq!(same, attempt, "{}", f.engine);
        assert!(matches!(answer, Answer::Wrong { remaining: 1 }));
        let (_, answer) = f
            .core
            .authorize_wallet(authorize("123456", Some(attempt)))
            .await
            .unwrap();
        let Answer::Accepted {
            auth_code: Some(first),
            ..
        } = answer
        else {
            panic!("expected a code, got {answer:?}");
        };
        let tokens = f
            .core
            .exchange_auth_code(&f.merchant, first.expose())
            .await
            .unwrap();
        assert_eq!(tokens.binding.customer_id, wallet.id);

        // Three wrong PINs fail an attempt.
        let (locked, _) = f
            .core
            .authorize_wallet(authorize("000000", None))
            .await
            .unwrap();
        for _ in 0..2 {
            let (_, answer) = f
                .core
                .authorize_wallet(authorize("000000", Some(locked)))
                .await
                .unwrap();
            if matches!(answer, Answer::Locked) {
                break;
            }
        }
        let (fresh, _) = f
            .core
            .authorize_wallet(authorize("000000", Some(locked)))
            .await
            .unwrap();
        assert_ne!(fresh, locked, "a failed attempt is not continued");

        // Authorizing again replaces the earlier binding: its tokens stop working.
        let (_, answer) = f
            .core
            .authorize_wallet(authorize("123456", None))
            .await
            .unwrap();
        assert!(matches!(
            answer,
            Answer::Accepted {
                auth_code: Some(_),
                ..
            }
        ));
        assert!(matches!(
            f.core
                .customer_binding(&f.merchant, tokens.access.token.expose())
                .await,
            Err(CoreError::InvalidCustomerToken)
        ));
    }
}

//! Tokens of each key kind verify; expired, forged, foreign and
//! algorithm-swapped ones are refused with a reason.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use super::*;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const RSA_PRIVATE: &[u8] = include_bytes!("keys/rsa-private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("keys/rsa-public.pem");
const ED_PRIVATE: &[u8] = include_bytes!("keys/ed25519-private.pem");
const ED_PUBLIC: &[u8] = include_bytes!("keys/ed25519-public.pem");

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

fn in_an_hour() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600
}

fn signed(algorithm: Algorithm, key: &EncodingKey, claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, key).unwrap()
}

fn refusal(auth: &JwtAuth, token: &str) -> String {
    auth.verify(token).unwrap_err().to_string()
}

#[test]
fn a_minted_token_verifies_with_its_expiry_until_it_expires() {
    let minter = JwtMinter::hs256(SECRET).unwrap();
    let auth = JwtAuth::hs256(SECRET).unwrap();
    let now = SystemTime::now();
    let token = minter.mint(&user("al\u{ed}ce ../x"), Duration::from_secs(60), now);
    let identity = auth.verify(&token).unwrap();
    assert_eq!(identity.user, user("al\u{ed}ce ../x"));
    let expires = identity.expires_at.unwrap();
    let seconds = |at: SystemTime| at.duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(seconds(expires), seconds(now) + 60);
    let expired = minter.mint(&user("alice"), Duration::ZERO, now - Duration::from_secs(1));
    assert_eq!(refusal(&auth, &expired), "token expired");
}

#[test]
fn forged_foreign_and_malformed_tokens_are_refused() {
    let auth = JwtAuth::hs256(SECRET).unwrap();
    let other = JwtMinter::hs256(&[SECRET, SECRET].concat()).unwrap();
    let forged = other.mint(&user("alice"), Duration::from_secs(60), SystemTime::now());
    assert_eq!(refusal(&auth, &forged), "invalid token signature");
    for garbage in ["", "alice", "a.b.c", "v1.YQ.1.AAAA"] {
        assert_eq!(refusal(&auth, garbage), "malformed token", "{garbage:?}");
    }
    let key = EncodingKey::from_secret(SECRET);
    let no_exp = signed(Algorithm::HS256, &key, &json!({"sub": "alice"}));
    assert_eq!(refusal(&auth, &no_exp), "token without a required claim");
    let bad_subject = signed(
        Algorithm::HS256,
        &key,
        &json!({"sub": "", "exp": in_an_hour()}),
    );
    assert!(refusal(&auth, &bad_subject).starts_with("token subject: "));
}

#[test]
fn audience_and_issuer_are_checked_when_configured() {
    let auth = JwtAuth::hs256(SECRET)
        .unwrap()
        .with_audience("chat")
        .with_issuer("https://id.example.com");
    let minter = JwtMinter::hs256(SECRET).unwrap();
    let now = SystemTime::now();
    let hour = Duration::from_secs(3600);
    let right = minter
        .clone()
        .with_audience("chat")
        .with_issuer("https://id.example.com");
    assert_eq!(
        auth.verify(&right.mint(&user("bob"), hour, now))
            .unwrap()
            .user,
        user("bob")
    );
    let elsewhere = minter
        .clone()
        .with_audience("billing")
        .with_issuer("https://id.example.com");
    assert_eq!(
        refusal(&auth, &elsewhere.mint(&user("bob"), hour, now)),
        "token for another audience"
    );
    let foreign = minter
        .clone()
        .with_audience("chat")
        .with_issuer("https://evil.example");
    assert_eq!(
        refusal(&auth, &foreign.mint(&user("bob"), hour, now)),
        "token from another issuer"
    );
    assert_eq!(
        refusal(&auth, &minter.mint(&user("bob"), hour, now)),
        "token without a required claim"
    );
    // Without an audience configured, tokens with or without one pass.
    let open = JwtAuth::hs256(SECRET).unwrap();
    assert!(
        open.verify(&elsewhere.mint(&user("bob"), hour, now))
            .is_ok()
    );
}

#[test]
fn public_keys_verify_rs256_and_eddsa_and_nothing_else() {
    let claims = json!({"sub": "carol", "exp": in_an_hour()});
    let rsa = JwtAuth::rs256_pem(RSA_PUBLIC).unwrap();
    let rsa_token = signed(
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
        &claims,
    );
    assert_eq!(rsa.verify(&rsa_token).unwrap().user, user("carol"));
    let ed = JwtAuth::ed25519_pem(ED_PUBLIC).unwrap();
    let ed_token = signed(
        Algorithm::EdDSA,
        &EncodingKey::from_ed_pem(ED_PRIVATE).unwrap(),
        &claims,
    );
    assert_eq!(ed.verify(&ed_token).unwrap().user, user("carol"));
    assert_eq!(
        refusal(&rsa, &ed_token),
        "token signed with another algorithm"
    );
    // Alg confusion: an HS256 token keyed with the public key's bytes.
    let confused = signed(
        Algorithm::HS256,
        &EncodingKey::from_secret(RSA_PUBLIC),
        &claims,
    );
    assert_eq!(
        refusal(&rsa, &confused),
        "token signed with another algorithm"
    );
    assert!(matches!(
        JwtAuth::rs256_pem(b"not a key"),
        Err(JwtKeyError::Key {
            algorithm: "RSA",
            ..
        })
    ));
}

#[test]
fn short_secrets_are_refused() {
    assert_eq!(
        JwtAuth::hs256(b"short").unwrap_err().to_string(),
        "the secret must be at least 32 bytes (it is 5)"
    );
    assert!(matches!(
        JwtMinter::hs256(b"short"),
        Err(JwtKeyError::WeakSecret(5))
    ));
}

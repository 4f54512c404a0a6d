//! Open311 API keys: which client system a `POST requests` comes from. A key is a secret like a
//! bearer token (256 random bits, stored as its SHA-256; see [`crate::account`]), issued per
//! client by `gridline server add-open311-client`. Unknown keys count against the client
//! address (a flood is refused with `429` before any lookup), known ones against the key's own
//! rate.

use std::net::IpAddr;

use crate::account::token_hash;
use crate::state::AppState;
use crate::store::Open311Client;
use crate::task::blocking;

use super::format::Open311Error;

const FAILURES: &str = "unknown API keys from this address";

/// The client holding `api_key`, after the failed-key and per-key limits; `403` for a missing
/// or unknown key.
pub async fn authenticate(
    state: &AppState,
    peer: Option<IpAddr>,
    api_key: Option<&str>,
) -> Result<Open311Client, Open311Error> {
    let failures = state.open311_key_failures.as_deref().zip(peer);
    if let Some((limiter, ip)) = failures {
        limiter.peek(ip, FAILURES).await?;
    }
    let found = match api_key.filter(|k| !k.is_empty()) {
        None => None,
        Some(key) => {
            let hash = token_hash(key);
            let store = state.store.clone();
            blocking(move || store.open311_client_by_key(&hash)).await??
        }
    };
    let Some(client) = found else {
        if let Some((limiter, ip)) = failures {
            limiter.check(ip, FAILURES).await?;
        }
        return Err(Open311Error::forbidden(match api_key {
            None | Some("") => "api_key is required to submit a request",
            Some(_) => "invalid api_key",
        }));
    };
    if let Some(limiter) = &state.open311_keys {
        limiter
            .check(client.id, "requests for this api_key")
            .await?;
    }
    Ok(client)
}

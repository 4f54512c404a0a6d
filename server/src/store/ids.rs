//! Wire ids that do not count. A ticket id (`T4KQ7M2XA`) and a changes cursor are a keyed
//! permutation of the database's row numbers, so a rider who files two reports a day apart
//! cannot read from their ids (or a cursor) how many tickets the district received in
//! between. The permutation is a 4-round Feistel network over 40 bits (room for 10^12 rows)
//! whose round function is SHA-256 of the district's secret key, the round and the half;
//! ids are written in Crockford base32 (no I, L, O, U: safe to read out over the phone).
//!
//! The key lives in the database (`meta.id_key`), so every server instance on it agrees. A
//! database that already had tickets before opaque ids keeps plain ids (`T42`, key 0): devices
//! hold those ids, and they must not change under them.

use sha2::{Digest, Sha256};

/// Rows and events up to this number get opaque ids (2^40 ≈ 1.1 × 10^12).
const SPACE_BITS: u32 = 40;
const HALF_BITS: u32 = SPACE_BITS / 2;
const HALF_MASK: u64 = (1 << HALF_BITS) - 1;
/// Base32 digits of a 40-bit number.
const DIGITS: usize = 8;
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Turns row numbers into wire ids and back.
#[derive(Clone)]
pub struct IdCodec {
    key: Option<[u8; 32]>,
}

impl std::fmt::Debug for IdCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.key.is_some() {
            "IdCodec(opaque)"
        } else {
            "IdCodec(plain)"
        })
    }
}

impl IdCodec {
    /// Plain ids (`T42`, cursor `42`): for databases from before opaque ids.
    pub fn plain() -> Self {
        Self { key: None }
    }

    /// Opaque ids under the stored `key` (0 means plain).
    pub fn from_stored_key(key: i64) -> Self {
        if key == 0 {
            return Self::plain();
        }
        Self {
            key: Some(Sha256::digest(key.to_le_bytes()).into()),
        }
    }

    /// The wire id of ticket row `row`.
    pub fn ticket_id(&self, row: i64) -> String {
        format!("T{}", self.encode(row))
    }

    /// The row of a wire ticket id, if it is one this codec made.
    pub fn parse_ticket_id(&self, text: &str) -> Option<i64> {
        self.decode(text.strip_prefix('T')?).filter(|n| *n > 0)
    }

    /// The changes cursor after event `seq` (0: the start).
    pub fn cursor(&self, seq: i64) -> String {
        self.encode(seq)
    }

    /// The event sequence number of a cursor, if it is one this codec made.
    pub fn parse_cursor(&self, text: &str) -> Option<i64> {
        self.decode(text)
    }

    fn encode(&self, n: i64) -> String {
        let value = u64::try_from(n).unwrap_or(0);
        match &self.key {
            Some(key) if value >> SPACE_BITS == 0 => {
                let mut v = permute(key, value, false);
                let mut out = [0u8; DIGITS];
                for slot in out.iter_mut().rev() {
                    *slot = ALPHABET[(v & 31) as usize];
                    v >>= 5;
                }
                String::from_utf8_lossy(&out).into_owned()
            }
            // Plain, or beyond the permuted space (never in practice): the number itself.
            _ => value.to_string(),
        }
    }

    fn decode(&self, text: &str) -> Option<i64> {
        match &self.key {
            Some(key) if text.len() == DIGITS => {
                let mut v = 0u64;
                for b in text.bytes() {
                    let digit = ALPHABET.iter().position(|a| *a == b)?;
                    v = (v << 5) | digit as u64;
                }
                i64::try_from(permute(key, v, true)).ok()
            }
            // A plain number: only where plain ids are in use, or beyond the permuted space.
            _ if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) => None,
            _ if text.len() > 1 && text.starts_with('0') => None,
            None => text.parse().ok(),
            Some(_) => text
                .parse()
                .ok()
                .filter(|n: &i64| (*n as u64) >> SPACE_BITS != 0),
        }
    }
}

/// A 4-round Feistel network over `SPACE_BITS` bits: a bijection, its own inverse with the
/// rounds reversed.
fn permute(key: &[u8; 32], value: u64, inverse: bool) -> u64 {
    let (mut left, mut right) = (value >> HALF_BITS, value & HALF_MASK);
    let rounds: [u8; 4] = if inverse { [3, 2, 1, 0] } else { [0, 1, 2, 3] };
    for round in rounds {
        if inverse {
            let prev_right = left;
            left = right ^ mix(key, round, prev_right);
            right = prev_right;
        } else {
            let next = left ^ mix(key, round, right);
            left = right;
            right = next;
        }
    }
    (left << HALF_BITS) | right
}

fn mix(key: &[u8; 32], round: u8, half: u64) -> u64 {
    let mut h = Sha256::new();
    h.update(key);
    h.update([round]);
    h.update(half.to_le_bytes());
    let out = h.finalize();
    u64::from_le_bytes([
        out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7],
    ]) & HALF_MASK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_ids_round_trip_and_do_not_count() {
        let ids = IdCodec::from_stored_key(0x5eed_1234_abcd);
        let mut seen = std::collections::HashSet::new();
        for row in 1..2000 {
            let id = ids.ticket_id(row);
            assert_eq!(id.len(), 1 + DIGITS, "{id}");
            assert_eq!(ids.parse_ticket_id(&id), Some(row), "{id}");
            assert!(seen.insert(id));
            assert_eq!(ids.parse_cursor(&ids.cursor(row)), Some(row));
        }
        // Neighbouring rows get unrelated ids.
        let (a, b) = (ids.ticket_id(41), ids.ticket_id(42));
        let common = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
        assert!(common < 4, "{a} {b}");
        // Another district's key makes other ids; plain numbers are not accepted.
        let other = IdCodec::from_stored_key(7);
        assert_ne!(other.ticket_id(42), b);
        for bad in [
            "T42",
            "T",
            "",
            "t4KQ7M2XA",
            "T4KQ7M2X!",
            "T0000000000",
            "42",
            "-1",
        ] {
            assert_eq!(ids.parse_ticket_id(bad), None, "{bad}");
        }
        assert_eq!(ids.parse_cursor("42"), None);
    }

    #[test]
    fn plain_ids_are_row_numbers_and_refuse_lookalikes() {
        let ids = IdCodec::plain();
        assert_eq!(ids.ticket_id(42), "T42");
        assert_eq!(ids.parse_ticket_id("T42"), Some(42));
        assert_eq!(ids.cursor(0), "0");
        assert_eq!(ids.parse_cursor("17"), Some(17));
        for bad in [
            "",
            "T",
            "42",
            "T-1",
            "T+1",
            "T0",
            "t1",
            "T1 ",
            "T01",
            "T99999999999999999999",
        ] {
            assert_eq!(ids.parse_ticket_id(bad), None, "{bad}");
        }
        for bad in ["-1", "x", "1.5", " 1"] {
            assert_eq!(ids.parse_cursor(bad), None, "{bad}");
        }
    }
}

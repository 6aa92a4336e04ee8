//! What free text from customers (names, address lines, cities, notes) may contain.
//!
//! Control characters are refused, and so are Unicode *format* characters (general category Cf):
//! they are invisible, and some reorder what is shown around them. U+202E (right-to-left
//! override) makes `Evil Corp\u{202E}gpj.exe` display as `Evil Corpexe.jpg`; U+200B and U+2060
//! make two names that look the same compare different; U+2066–U+2069 isolate and reverse runs in
//! a shipping label, a dashboard or a log line an operator reads.
//!
//! Two format characters are allowed, because real names need them: U+200C ZERO WIDTH NON-JOINER
//! (Persian and several Indic scripts spell words with it) and U+200D ZERO WIDTH JOINER (Indic
//! conjuncts, emoji sequences). They are also what Unicode's identifier-security advice
//! (UTS #39, UTS #31 "Default Ignorable" handling) lets through in context. Refusing all of Cf, as
//! the issue asked, would refuse those customers' names, and both characters are harmless for
//! display order.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// ZWNJ and ZWJ: the format characters that scripts need (see the module doc).
const NEEDED_FORMAT_CHARACTERS: [char; 2] = ['\u{200C}', '\u{200D}'];

/// The first character free text may not contain, if any: a control character (except newline
/// and tab when `multiline`) or a format character other than ZWNJ/ZWJ.
pub fn forbidden_character(value: &str, multiline: bool) -> Option<char> {
    value.chars().find(|&c| {
        if c.is_control() {
            return !(multiline && (c == '\n' || c == '\t'));
        }
        c.general_category() == GeneralCategory::Format && !NEEDED_FORMAT_CHARACTERS.contains(&c)
    })
}

/// How a refusal names the character: its code point (it is invisible by design).
pub fn describe(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_overrides_and_invisible_characters_are_refused() {
        for hostile in [
            "Evil\u{202E}gpj.exe",
            "a\u{200B}b",
            "x\u{2066}y\u{2069}",
            "\u{FEFF}name",
            "soft\u{00AD}hyphen",
            "a\u{2060}b",
            "ar\u{061C}x",
        ] {
            assert!(forbidden_character(hostile, false).is_some(), "{hostile:?}");
        }
        assert_eq!(
            forbidden_character("Evil\u{202E}gpj", false)
                .map(describe)
                .as_deref(),
            Some("U+202E")
        );
    }

    #[test]
    fn the_worlds_names_pass() {
        for name in [
            "Zoë Ångström",
            "José Núñez",
            "山田 太郎",
            "Ιωάννης",
            "می\u{200C}خواهم",
            "क्\u{200D}ष",
            "👩\u{200D}💻 Dev",
            "O'Brien-Smith",
        ] {
            assert_eq!(forbidden_character(name, false), None, "{name:?}");
        }
    }

    #[test]
    fn control_characters_are_refused_except_line_breaks_in_multiline_text() {
        assert!(forbidden_character("a\u{0}b", false).is_some());
        assert!(forbidden_character("a\nb", false).is_some());
        assert_eq!(forbidden_character("a\nb\tc", true), None);
        assert!(forbidden_character("a\u{7}b", true).is_some());
    }
}

//! The applicant's name as the mirror may hold it. The upstream publishes names already
//! masked (张*三, 李*); the kiosk masks again whatever arrives unmasked, so a fault upstream
//! never puts a full name on a public screen or into the mirror file.

use std::borrow::Cow;

/// Characters the upstream masks with.
const MASKS: [char; 2] = ['*', '＊'];

/// `name` with every character but the first and, from three characters on, the last
/// replaced by `*` (张三 → 张*, 张小三 → 张*三, 欧阳娜娜 → 欧**娜); a name that already carries
/// a mask is kept as it is.
pub fn mask_applicant(name: &str) -> Cow<'_, str> {
    if name.contains(MASKS) {
        return Cow::Borrowed(name);
    }
    let chars: Vec<char> = name.trim().chars().collect();
    let masked = match chars.as_slice() {
        [] => String::new(),
        [first] | [first, _] => format!("{first}*"),
        [first, middle @ .., last] => {
            let mut masked = String::with_capacity(name.len());
            masked.push(*first);
            masked.extend(middle.iter().map(|_| '*'));
            masked.push(*last);
            masked
        }
    };
    Cow::Owned(masked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_already_masked_pass_unchanged() {
        for name in ["张*三", "李*", "欧**娜", "王＊"] {
            assert!(matches!(mask_applicant(name), Cow::Borrowed(n) if n == name));
        }
    }

    #[test]
    fn unmasked_names_keep_only_their_first_and_last_character() {
        assert_eq!(mask_applicant("张三"), "张*");
        assert_eq!(mask_applicant("张小三"), "张*三");
        assert_eq!(mask_applicant("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_applicant("李"), "李*");
        assert_eq!(mask_applicant(" 王五 "), "王*");
        assert_eq!(mask_applicant(""), "");
        assert_eq!(mask_applicant("郴州市某矿业有限公司"), "郴********司");
    }
}

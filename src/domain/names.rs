//! How the waiting room sees a patient's name, as the web app writes it (`web/src/lib/
//! callName.ts`): the first name and the initial of the family name, "José Carlos de Oliveira
//! Filho" → "José O.". The initial skips the generational suffixes and the particles. The TV
//! panel's key gets names in this form (or whole, when the clinic's panel style is `full`), so
//! its token reads no more of a name than the screen shows; the web app applying the rule again
//! leaves it as it is.

const SUFFIXES: [&str; 8] = [
    "filho", "filha", "junior", "jr", "neto", "neta", "sobrinho", "sobrinha",
];
const PARTICLES: [&str; 9] = ["de", "da", "do", "dos", "das", "e", "di", "du", "d'"];

/// A word without its accents, a trailing dot or capitals (Portuguese letters).
fn bare(word: &str) -> String {
    word.strip_suffix('.')
        .unwrap_or(word)
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

/// "Valentina Alves" → "Valentina A."; a single name stays as it is; empty → "".
pub fn call_name(full: &str) -> String {
    let parts: Vec<&str> = full.split_whitespace().collect();
    let Some(first) = parts.first() else {
        return String::new();
    };
    for word in parts[1..].iter().rev() {
        let plain = bare(word);
        if SUFFIXES.contains(&plain.as_str()) || PARTICLES.contains(&plain.as_str()) {
            continue;
        }
        let initial: String = word.chars().take(1).flat_map(char::to_uppercase).collect();
        return format!("{first} {initial}.");
    }
    (*first).to_string()
}

/// The name as the panel may read it under the clinic's panel style: whole for `full`, else
/// the call name (what `short` and `initials` are written from, and what the TV speaks).
pub fn panel_name(full: &str, style: &str) -> String {
    if style == "full" {
        full.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        call_name(full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_name_is_the_first_name_and_the_family_initial() {
        for (full, short) in [
            ("José Carlos de Oliveira Filho", "José O."),
            ("Valentina Alves", "Valentina A."),
            ("  Ana  ", "Ana"),
            ("Pedro da Silva Júnior", "Pedro S."),
            ("Maria dos Santos Neta", "Maria S."),
            ("Luís Álvares", "Luís Á."),
            ("João S.", "João S."),
            ("", ""),
        ] {
            assert_eq!(call_name(full), short, "{full:?}");
            assert_eq!(
                call_name(&call_name(full)),
                call_name(full),
                "again: {full:?}"
            );
        }
        assert_eq!(panel_name(" João  Silva ", "full"), "João Silva");
        assert_eq!(panel_name("João Silva", "initials"), "João S.");
    }
}

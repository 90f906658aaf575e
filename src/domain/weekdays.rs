//! `workingDays`: Portuguese day names, accents optional, several per element allowed
//! (`["Segunda, Terca, Quarta"]`). Output is one canonical name per element.

const DAYS: [(&str, &str); 7] = [
    ("segunda", "Segunda"),
    ("terca", "Terça"),
    ("quarta", "Quarta"),
    ("quinta", "Quinta"),
    ("sexta", "Sexta"),
    ("sabado", "Sábado"),
    ("domingo", "Domingo"),
];

fn fold(name: &str) -> String {
    name.trim()
        .to_lowercase()
        .replace('ç', "c")
        .replace(['á', 'à', 'â', 'ã'], "a")
        .trim_end_matches("-feira")
        .to_string()
}

/// Canonical day names, in week order without repeats; `Err` names the first unknown entry.
pub fn parse(input: &[String]) -> Result<Vec<&'static str>, String> {
    let mut found = [false; 7];
    for element in input {
        for part in element.split(',') {
            if part.trim().is_empty() {
                continue;
            }
            let folded = fold(part);
            let index = DAYS
                .iter()
                .position(|(key, _)| *key == folded)
                .ok_or_else(|| format!("unknown working day '{}'", part.trim()))?;
            found[index] = true;
        }
    }
    Ok(DAYS
        .iter()
        .zip(found)
        .filter(|(_, f)| *f)
        .map(|((_, name), _)| *name)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_documented_example() {
        let days = parse(&["Segunda, Terca, Quarta, Quinta, Sexta".to_string()]).unwrap();
        assert_eq!(days, vec!["Segunda", "Terça", "Quarta", "Quinta", "Sexta"]);
    }

    #[test]
    fn accepts_accents_and_rejects_unknown_names() {
        assert_eq!(
            parse(&["sábado".into(), "Domingo".into()]).unwrap(),
            vec!["Sábado", "Domingo"]
        );
        assert!(parse(&["Funday".into()]).is_err());
    }
}

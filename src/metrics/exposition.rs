//! The Prometheus text format (0.0.4) that `promtool check metrics` and every Prometheus read.
//!
//! `prometheus_client` writes OpenMetrics: a counter's family is named without `_total` (its
//! samples have it), `info` and `unknown` are types, and the body ends in `# EOF`. Read as the
//! text format, those counters would be series without help, so the body is rewritten: a
//! counter's `# HELP`/`# TYPE` take the `_total` name, `info` becomes `gauge`, `unknown`
//! `untyped`, and `# UNIT` and `# EOF` are left out. Samples are the same in both formats.

/// The OpenMetrics body `open` as the text format.
pub fn to_text_format(open: &str) -> String {
    let mut out = String::with_capacity(open.len());
    // A family's `# HELP` comes before its `# TYPE`, which says how to name it.
    let mut help: Option<(&str, &str)> = None;
    for line in open.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            flush_help(&mut out, help.take(), None);
            help = Some(rest.split_once(' ').unwrap_or((rest, "")));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (name, kind) = match kind {
                "counter" if !name.ends_with("_total") => (format!("{name}_total"), "counter"),
                "info" => (format!("{name}_info"), "gauge"),
                "unknown" => (name.to_string(), "untyped"),
                other => (name.to_string(), other),
            };
            flush_help(&mut out, help.take(), Some(&name));
            out.push_str(&format!("# TYPE {name} {kind}\n"));
        } else if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        } else {
            flush_help(&mut out, help.take(), None);
            out.push_str(line);
            out.push('\n');
        }
    }
    flush_help(&mut out, help, None);
    out
}

/// Writes a held `# HELP` line under `name` (the family's text-format name) or its own.
fn flush_help(out: &mut String, help: Option<(&str, &str)>, name: Option<&str>) {
    if let Some((own, text)) = help {
        out.push_str(&format!("# HELP {} {text}\n", name.unwrap_or(own)));
    }
}

#[cfg(test)]
mod tests {
    use super::to_text_format;

    #[test]
    fn counters_take_their_total_name_and_the_openmetrics_markers_go() {
        let open = "# HELP fila_events_emitted Events broadcast.\n\
                    # TYPE fila_events_emitted counter\n\
                    fila_events_emitted_total{event=\"a\"} 3\n\
                    # HELP fila_lag_seconds Lag.\n\
                    # TYPE fila_lag_seconds histogram\n\
                    # UNIT fila_lag_seconds seconds\n\
                    fila_lag_seconds_bucket{le=\"+Inf\"} 1\n\
                    # HELP fila_build Build.\n\
                    # TYPE fila_build info\n\
                    fila_build_info{version=\"1\"} 1\n\
                    # EOF\n";
        assert_eq!(
            to_text_format(open),
            "# HELP fila_events_emitted_total Events broadcast.\n\
             # TYPE fila_events_emitted_total counter\n\
             fila_events_emitted_total{event=\"a\"} 3\n\
             # HELP fila_lag_seconds Lag.\n\
             # TYPE fila_lag_seconds histogram\n\
             fila_lag_seconds_bucket{le=\"+Inf\"} 1\n\
             # HELP fila_build_info Build.\n\
             # TYPE fila_build_info gauge\n\
             fila_build_info{version=\"1\"} 1\n"
        );
    }
}

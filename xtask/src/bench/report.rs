//! The benchmark's figures and targets, and the three ways they are shown: a terminal
//! table, JSON (`{name, value, unit, target, met}` per figure) and Markdown. Pure.

use serde::Serialize;

/// One measured figure; `target` when it has one to meet.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub name: String,
    /// `None` when it could not be measured in this run (`note` says why).
    pub value: Option<f64>,
    pub unit: &'static str,
    pub target: Option<Target>,
    pub met: Option<bool>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "is", content = "limit", rename_all = "snake_case")]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Target {
    pub fn met_by(self, value: f64) -> bool {
        match self {
            Self::AtLeast(limit) => value >= limit,
            Self::AtMost(limit) => value <= limit,
        }
    }

    fn show(self, unit: &str) -> String {
        match self {
            Self::AtLeast(limit) => format!(">= {}{}", number(limit), suffix(unit)),
            Self::AtMost(limit) => format!("<= {}{}", number(limit), suffix(unit)),
        }
    }
}

impl Figure {
    /// A figure shown for reading, with no target.
    pub fn info(name: impl Into<String>, value: f64, unit: &'static str) -> Self {
        Self {
            name: name.into(),
            value: Some(value),
            unit,
            target: None,
            met: None,
            note: String::new(),
        }
    }

    pub fn with_target(
        name: impl Into<String>,
        value: f64,
        unit: &'static str,
        target: Target,
    ) -> Self {
        Self {
            met: Some(target.met_by(value)),
            target: Some(target),
            ..Self::info(name, value, unit)
        }
    }

    /// A figure this run could not measure; a target it has counts as not met.
    pub fn missing(
        name: impl Into<String>,
        unit: &'static str,
        target: Option<Target>,
        why: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            value: None,
            unit,
            met: target.map(|_| false),
            target,
            note: why.into(),
        }
    }

    pub fn noted(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    fn shown_value(&self) -> String {
        match self.value {
            Some(value) => format!("{}{}", number(value), suffix(self.unit)),
            None => "not measured".to_owned(),
        }
    }

    fn verdict(&self) -> &'static str {
        match self.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "",
        }
    }
}

/// Everything one run measured, and where.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: String,
    pub mode: &'static str,
    pub started_at: String,
    pub figures: Vec<Figure>,
}

impl Report {
    pub fn missed(&self) -> Vec<&Figure> {
        self.figures
            .iter()
            .filter(|f| f.met == Some(false))
            .collect()
    }

    pub fn to_table(&self) -> String {
        let rows: Vec<[String; 4]> = self
            .figures
            .iter()
            .map(|f| {
                [
                    f.name.clone(),
                    f.shown_value(),
                    f.target.map(|t| t.show(f.unit)).unwrap_or_default(),
                    if f.note.is_empty() {
                        f.verdict().to_owned()
                    } else {
                        format!("{} {}", f.verdict(), f.note).trim().to_owned()
                    },
                ]
            })
            .collect();
        let header = ["figure", "value", "target", ""].map(str::to_owned);
        let widths: Vec<usize> = (0..3)
            .map(|i| {
                rows.iter()
                    .chain(std::iter::once(&header))
                    .map(|row| row[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = format!("{} ({}, {})\n", self.machine, self.mode, self.started_at);
        for row in std::iter::once(&header).chain(rows.iter()) {
            let line = format!(
                "  {:<w0$}  {:>w1$}  {:<w2$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        let missed = self.missed();
        if missed.is_empty() {
            out.push_str("every target met\n");
        } else {
            out.push_str(&format!(
                "{} target(s) missed: {}\n",
                missed.len(),
                missed
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out
    }

    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# cargo xtask bench\n\n{} ({}, {})\n\n| figure | value | target | |\n| --- | ---: | --- | --- |\n",
            self.machine, self.mode, self.started_at
        );
        for f in &self.figures {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                f.name,
                f.shown_value(),
                f.target.map(|t| t.show(f.unit)).unwrap_or_default(),
                format!("{} {}", f.verdict(), f.note).trim()
            ));
        }
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|err| format!("{{\"error\":\"{err}\"}}"))
    }
}

/// Up to three significant digits after the point, no trailing zeros.
fn number(value: f64) -> String {
    let digits = if value.abs() >= 100.0 {
        0
    } else if value.abs() >= 10.0 {
        1
    } else if value.abs() >= 1.0 {
        2
    } else {
        3
    };
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

fn suffix(unit: &str) -> String {
    match unit {
        "" | "x" | "%" => unit.to_owned(),
        unit => format!(" {unit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            machine: "2 cores".into(),
            mode: "quick",
            started_at: "2026-11-24T13:00:00Z".into(),
            figures: vec![
                Figure::info("healthz", 63012.4, "req/s"),
                Figure::with_target(
                    "get by id / pgbench select",
                    0.42,
                    "x",
                    Target::AtLeast(0.5),
                ),
                Figure::with_target("get by id p99", 12.5, "ms", Target::AtMost(20.0)),
                Figure::missing("image size", "MB", Some(Target::AtMost(15.0)), "(--quick)"),
            ],
        }
    }

    #[test]
    fn targets_are_met_on_the_right_side_of_their_limit() {
        assert!(Target::AtLeast(0.5).met_by(0.5));
        assert!(!Target::AtLeast(0.5).met_by(0.49));
        assert!(Target::AtMost(20.0).met_by(20.0));
        assert!(!Target::AtMost(20.0).met_by(20.1));
    }

    #[test]
    fn the_json_lists_every_figure_with_its_target_and_verdict() {
        let json: serde_json::Value = serde_json::from_str(&report().to_json()).unwrap();
        let figures = json["figures"].as_array().unwrap();
        assert_eq!(figures.len(), 4);
        assert_eq!(figures[1]["name"], "get by id / pgbench select");
        assert_eq!(figures[1]["value"], 0.42);
        assert_eq!(figures[1]["unit"], "x");
        assert_eq!(
            figures[1]["target"],
            serde_json::json!({"is": "at_least", "limit": 0.5})
        );
        assert_eq!(figures[1]["met"], false);
        assert_eq!(figures[0]["met"], serde_json::Value::Null);
        assert_eq!(figures[3]["value"], serde_json::Value::Null);
        assert_eq!(figures[3]["met"], false, "an unmeasured target is not met");
    }

    #[test]
    fn the_table_and_markdown_say_plainly_what_was_missed() {
        let table = report().to_table();
        assert!(table.contains("get by id p99"), "{table}");
        assert!(table.contains("12.5 ms"), "{table}");
        let line = |name: &str| {
            table
                .lines()
                .find(|l| l.trim_start().starts_with(name))
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(
            line("get by id p99").ends_with("12.5 ms <= 20 ms met"),
            "{table}"
        );
        assert!(
            line("get by id /").ends_with("0.42x >= 0.5x MISSED"),
            "{table}"
        );
        assert!(
            table.contains("2 target(s) missed: get by id / pgbench select, image size"),
            "{table}"
        );
        let markdown = report().to_markdown();
        assert!(
            markdown.contains("| healthz | 63012 req/s |  |  |"),
            "{markdown}"
        );
        assert!(
            markdown.contains("| image size | not measured | <= 15 MB | MISSED (--quick) |"),
            "{markdown}"
        );
    }

    #[test]
    fn numbers_keep_three_significant_decimals_at_most() {
        assert_eq!(number(63012.4), "63012");
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(0.4213), "0.421");
        assert_eq!(number(2.0), "2");
    }
}

//! The load charts of a run's page: offered load and goodput, the 99th percentile of
//! latency, and each replica's queue, per 100 ms, on one time axis, with the overload
//! trigger shaded (see [`crate::load`] for what each series is).

use std::fmt::Write;

use checkers::viz::escape;

use crate::load::{BUCKET, Load};

/// Width of a chart's plot, in pixels.
const WIDTH: f64 = 1100.0;
/// Height of a chart's plot.
const HEIGHT: f64 = 110.0;
/// Room left of the plot for the scale, and above it for the title.
const LEFT: f64 = 70.0;
const TOP: f64 = 22.0;
/// Room below the plot for the time axis.
const BOTTOM: f64 = 20.0;

/// One line of a chart: its name, CSS class, and a value per step (`None`: no value).
struct Line {
    name: String,
    class: &'static str,
    values: Vec<Option<f64>>,
}

/// The three charts of `load`, as HTML (a heading, a key and inline SVG).
pub(crate) fn charts(load: &Load) -> String {
    let s = &load.series;
    let per_s = 1e9 / BUCKET.as_nanos() as f64;
    let rate = |v: &[u32]| v.iter().map(|&x| Some(f64::from(x) * per_s)).collect();
    let mut html = String::from("<h2>Load</h2><div class=\"load\">");
    let rates = [
        Line {
            name: "offered".to_owned(),
            class: "offered",
            values: rate(&s.offered),
        },
        Line {
            name: format!("goodput (ok within {} ms)", load.in_time_ms),
            class: "goodput",
            values: rate(&s.goodput),
        },
    ];
    chart(&mut html, load, "operations per second", &rates);
    let latency = [Line {
        name: "p99 latency of ok operations, from arrival".to_owned(),
        class: "p99",
        values: s.p99_ms.clone(),
    }];
    chart(&mut html, load, "milliseconds", &latency);
    if s.queues.first().is_some_and(|q| !q.is_empty()) {
        let replicas = s.queues[0].len();
        let queues: Vec<Line> = (0..replicas)
            .map(|r| Line {
                name: format!("n{r}'s queue"),
                class: "queue",
                values: s.queues.iter().map(|q| Some(f64::from(q[r]))).collect(),
            })
            .collect();
        chart(&mut html, load, "requests waiting", &queues);
    }
    html.push_str("</div>");
    html
}

/// Appends one chart of `lines` (values per step) with scale `unit`.
fn chart(html: &mut String, load: &Load, unit: &str, lines: &[Line]) {
    let steps = lines
        .iter()
        .map(|l| l.values.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let top = lines
        .iter()
        .flat_map(|l| l.values.iter().flatten())
        .fold(0.0_f64, |a, &b| a.max(b));
    let top = nice(top);
    let x = |step: f64| LEFT + WIDTH * step / steps as f64;
    let y = |v: f64| TOP + HEIGHT - HEIGHT * v / top;
    let key: Vec<String> = lines
        .iter()
        .map(|l| format!("<tspan class=\"{}\">■ {}</tspan>", l.class, escape(&l.name)))
        .collect();
    let _ = write!(
        html,
        "<svg class=\"chart\" width=\"{:.0}\" height=\"{:.0}\" role=\"img\"><title>{}</title>\
         <text x=\"{LEFT}\" y=\"14\">{}</text>",
        LEFT + WIDTH + 10.0,
        TOP + HEIGHT + BOTTOM,
        escape(unit),
        key.join("  ")
    );
    if let Some(t) = load.trigger {
        let ms_per_step = BUCKET.as_nanos() as f64 / 1e6;
        let (a, b) = (
            x(t.start_ms as f64 / ms_per_step),
            x(t.end_ms as f64 / ms_per_step),
        );
        let _ = write!(
            html,
            "<rect class=\"trigger\" x=\"{a:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{HEIGHT}\">\
             <title>the trigger, {} to {} ms</title></rect>",
            b - a,
            t.start_ms,
            t.end_ms
        );
    }
    axes(html, steps, top);
    for line in lines {
        let mut d = String::new();
        let mut pen_up = true;
        for (i, v) in line.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{:.1} {:.1}",
                        if pen_up { "M" } else { "L" },
                        x(i as f64 + 0.5),
                        y(*v)
                    );
                    pen_up = false;
                }
                None => pen_up = true,
            }
        }
        let _ = write!(
            html,
            "<path class=\"series {}\" d=\"{d}\"><title>{}</title></path>",
            line.class,
            escape(&line.name)
        );
    }
    html.push_str("</svg>");
}

/// The scale (0 and `top`) and the time axis, a tick a second (or wider on long runs).
fn axes(html: &mut String, steps: usize, top: f64) {
    let bottom = TOP + HEIGHT;
    let _ = write!(
        html,
        "<path class=\"axis\" d=\"M{LEFT} {TOP}V{bottom}H{:.1}\"/>\
         <text class=\"scale\" x=\"{:.0}\" y=\"{:.0}\">{}</text>\
         <text class=\"scale\" x=\"{:.0}\" y=\"{bottom}\">0</text>",
        LEFT + WIDTH,
        LEFT - 6.0,
        TOP + 10.0,
        format_value(top),
        LEFT - 6.0,
    );
    let seconds = steps as f64 * BUCKET.as_nanos() as f64 / 1e9;
    let every = [1.0, 2.0, 5.0, 10.0, 30.0, 60.0]
        .into_iter()
        .find(|&e| seconds / e <= 25.0)
        .unwrap_or(120.0);
    let mut t = 0.0;
    while t <= seconds {
        let px = LEFT + WIDTH * t / seconds;
        let _ = write!(
            html,
            "<text class=\"tick\" x=\"{px:.1}\" y=\"{:.0}\">{t}s</text>",
            bottom + 15.0
        );
        t += every;
    }
}

/// The smallest of 1, 2 or 5 times a power of ten at least `v` (1 for nothing).
fn nice(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&n| n >= v)
        .unwrap_or(10.0 * power)
}

fn format_value(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// The charts' style, for the page's stylesheet.
pub(crate) const STYLE: &str = ".load svg{display:block;margin:6px 0}\
.chart text{font:12px sans-serif}.chart .scale{text-anchor:end}.chart .tick{text-anchor:middle;fill:#555}\
.chart .axis{fill:none;stroke:#888}.chart .trigger{fill:#f0b8a8;opacity:.45}\
.series{fill:none;stroke-width:1.5}.series.offered{stroke:#888}.series.goodput{stroke:#1a7f37}\
.series.p99{stroke:#c26a00}.series.queue{stroke:#2b5fb4}\
tspan.offered{fill:#666}tspan.goodput{fill:#1a7f37}tspan.p99{fill:#c26a00}tspan.queue{fill:#2b5fb4}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_round_up_to_one_two_or_five() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(13.0), 20.0);
        assert_eq!(nice(1_380.0), 2_000.0);
        assert_eq!(nice(0.3), 0.5);
    }
}

//! The learning curve of a training run as one self-contained SVG file.

use std::fmt::Write;

/// One named line of points (x, y).
pub struct Series<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub points: Vec<(f64, f64)>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 400.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 160.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 48.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Draws the series on shared axes with a title, axis labels, ticks and a legend. Points that
/// are not finite are left out; an empty chart still renders its frame.
pub fn svg(title: &str, x_label: &str, y_label: &str, series: &[Series<'_>]) -> String {
    let finite = || series.iter().flat_map(|s| s.points.iter()).filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in finite() {
        x_min = x_min.min(*x);
        x_max = x_max.max(*x);
        y_min = y_min.min(*y);
        y_max = y_max.max(*y);
    }
    if x_min > x_max {
        (x_min, x_max, y_min, y_max) = (0.0, 1.0, 0.0, 1.0);
    }
    if x_max - x_min < 1e-12 {
        x_max = x_min + 1.0;
    }
    if y_max - y_min < 1e-12 {
        y_min -= 0.5;
        y_max += 0.5;
    }
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let px = |x: f64| LEFT + (x - x_min) / (x_max - x_min) * plot_width;
    let py = |y: f64| TOP + (1.0 - (y - y_min) / (y_max - y_min)) * plot_height;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="20" font-size="14" text-anchor="middle">{}</text>"#,
        LEFT + plot_width / 2.0,
        escape(title)
    );
    let _ = writeln!(
        out,
        r#"<rect x="{LEFT}" y="{TOP}" width="{plot_width}" height="{plot_height}" fill="none" stroke="black"/>"#
    );
    for tick in 0..=4 {
        let fraction = f64::from(tick) / 4.0;
        let x = x_min + fraction * (x_max - x_min);
        let y = y_min + fraction * (y_max - y_min);
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            px(x),
            TOP + plot_height + 16.0,
            tick_label(x)
        );
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_width,
            py(y),
            py(y),
            LEFT - 6.0,
            py(y) + 4.0,
            tick_label(y)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        LEFT + plot_width / 2.0,
        HEIGHT - 10.0,
        escape(x_label)
    );
    let _ = writeln!(
        out,
        r#"<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">{}</text>"#,
        TOP + plot_height / 2.0,
        TOP + plot_height / 2.0,
        escape(y_label)
    );
    for (index, line) in series.iter().enumerate() {
        let points: Vec<String> = line
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        if !points.is_empty() {
            let _ = writeln!(
                out,
                r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
                line.colour,
                points.join(" ")
            );
        }
        let legend_y = TOP + 16.0 + 20.0 * index as f64;
        let legend_x = LEFT + plot_width + 12.0;
        let _ = writeln!(
            out,
            r#"<line x1="{legend_x}" x2="{}" y1="{legend_y}" y2="{legend_y}" stroke="{}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
            legend_x + 20.0,
            line.colour,
            legend_x + 26.0,
            legend_y + 4.0,
            escape(line.name)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn tick_label(value: f64) -> String {
    if value.abs() >= 100.0 || value.fract().abs() < 1e-9 { format!("{value:.0}") } else { format!("{value:.2}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_each_series_and_its_legend() {
        let chart = svg(
            "score",
            "update",
            "normalised score",
            &[
                Series { name: "eval", colour: "#1f77b4", points: vec![(0.0, 10.0), (10.0, 80.0)] },
                Series { name: "train <return>", colour: "#ff7f0e", points: vec![(0.0, f64::NAN)] },
            ],
        );
        assert!(chart.starts_with("<svg"));
        assert_eq!(chart.matches("<polyline").count(), 1);
        assert!(chart.contains("train &lt;return&gt;"));
        assert!(svg("empty", "x", "y", &[]).contains("</svg>"));
    }
}

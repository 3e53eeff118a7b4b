//! The PNG chart: p99 latency (log) against offered rate (log), one line per scenario, every
//! step of the search and the fixed fractions, with the p99 bound as a dashed line.
//!
//! Text is drawn with a TrueType font read at run time from the usual system locations
//! (DejaVu Sans, Liberation Sans), so no font library is needed to build. Without one, the
//! chart is drawn without text and a `<name>.legend.txt` beside it says which colour is which.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;

use crate::report::Report;

const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation/LiberationSans-Regular.ttf",
];

/// Registers a system font as `sans-serif` once; whether one was found.
fn register_font() -> bool {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REGISTERED.get_or_init(|| {
        FONT_CANDIDATES.iter().any(|path| {
            std::fs::read(path).ok().is_some_and(|bytes| {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
            })
        })
    })
}

const COLOURS: &[RGBColor] = &[
    RGBColor(120, 120, 120),
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// The lines to draw: per scenario, (offered rate, p99 ms) sorted by rate.
fn series(report: &Report) -> Vec<(String, Vec<(f64, f64)>)> {
    report
        .ceiling
        .iter()
        .chain(report.scenarios.iter())
        .map(|sc| {
            let mut points: Vec<(f64, f64)> = sc
                .search
                .iter()
                .chain(sc.at_fractions.iter().map(|f| &f.step))
                .filter(|s| s.offered_rate > 0.0)
                .map(|s| (s.offered_rate, s.p99_ms.max(0.01)))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            (sc.name.clone(), points)
        })
        .collect()
}

/// Draws the chart of `report` to `path` (PNG).
pub fn draw(report: &Report, path: &Path) -> Result<()> {
    let with_text = register_font();
    let lines = series(report);
    let bound = report
        .scenarios
        .first()
        .or(report.ceiling.as_ref())
        .map_or(20.0, |s| s.p99_bound_ms);
    let all = lines.iter().flat_map(|(_, p)| p.iter());
    let (mut x_max, mut y_max) = (100.0f64, bound * 2.0);
    let mut x_min = f64::MAX;
    let mut y_min = f64::MAX;
    for &(x, y) in all {
        x_max = x_max.max(x);
        x_min = x_min.min(x);
        y_max = y_max.max(y);
        y_min = y_min.min(y);
    }
    let x_min = if x_min == f64::MAX { 10.0 } else { x_min };
    let y_min = if y_min == f64::MAX { 0.1 } else { y_min };
    let x_range = (x_min / 1.5).max(1.0)..x_max * 1.5;
    let y_range = (y_min / 2.0).max(0.01)..(y_max * 2.0).min(200_000.0);

    let root = BitMapBackend::new(path, (1000, 640)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let title = format!(
        "bayar p99 latency vs offered rate - {} x{} node(s), {} CPUs, generator on the same machine",
        report.engine, report.nodes, report.environment.cpus
    );
    let mut builder = ChartBuilder::on(&root);
    builder.margin(15);
    if with_text {
        builder
            .caption(&title, ("sans-serif", 18))
            .x_label_area_size(45)
            .y_label_area_size(60);
    } else {
        builder.x_label_area_size(5).y_label_area_size(5);
    }
    let mut chart = builder
        .build_cartesian_2d(x_range.clone().log_scale(), y_range.log_scale())
        .map_err(|e| anyhow!("{e}"))?;
    let mut mesh = chart.configure_mesh();
    if with_text {
        mesh.x_desc("offered rate (requests/s, log)")
            .y_desc("p99 latency (ms, log)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y}"));
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw().map_err(|e| anyhow!("{e}"))?;

    // The bound.
    chart
        .draw_series(DashedLineSeries::new(
            vec![(x_range.start, bound), (x_range.end, bound)],
            6,
            4,
            ShapeStyle::from(&RED.mix(0.6)).stroke_width(1),
        ))
        .map_err(|e| anyhow!("{e}"))?;

    let mut legend = format!("{title}\ndashed red: p99 bound {bound} ms\n");
    for (i, (name, points)) in lines.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let drawn = chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(|e| anyhow!("{e}"))?;
        if with_text {
            drawn.label(name.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        }
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(|e| anyhow!("{e}"))?;
        legend.push_str(&format!(
            "rgb({}, {}, {}): {name}\n",
            colour.0, colour.1, colour.2
        ));
    }
    if with_text {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
    }
    root.present().map_err(|e| anyhow!("{e}"))?;
    if !with_text {
        std::fs::write(path.with_extension("legend.txt"), legend)?;
    }
    Ok(())
}

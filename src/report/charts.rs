//! KPI charts with plotters: a trend (line, or bars for counts) with the
//! target lines, the comparison period's value and the current period marked.
//! The same drawing goes to SVG (inline in the report) and PNG (slides); PNG
//! text uses the embedded DejaVu Sans (assets/fonts, Bitstream Vera licence),
//! so no system font is needed.

use std::path::Path;
use std::sync::Once;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::Serialize;

use crate::kpi::Unit;
use crate::output;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// The family every chart uses; registered once from the embedded font.
const FAMILY: &str = "sans-serif";

fn register_font() {
    REGISTER.call_once(|| {
        // The font is compiled in and known to parse (tested below).
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

// One palette for every chart and the report's CSS (templates/report.html).
const INK: RGBColor = RGBColor(0x1f, 0x29, 0x37);
const MUTED: RGBColor = RGBColor(0x6b, 0x72, 0x80);
const GRID: RGBColor = RGBColor(0xe5, 0xe7, 0xeb);
const SERIES: RGBColor = RGBColor(0x1d, 0x4e, 0xd8);
const ROLLING: RGBColor = RGBColor(0x93, 0xc5, 0xfd);
const CURRENT: RGBColor = RGBColor(0xea, 0x58, 0x0c);
const GREEN: RGBColor = RGBColor(0x15, 0x80, 0x3d);
const AMBER: RGBColor = RGBColor(0xd9, 0x77, 0x06);
const AGAINST: RGBColor = RGBColor(0x4b, 0x55, 0x63);
const LIMIT: RGBColor = RGBColor(0x9c, 0xa3, 0xaf);
const SIGNAL: RGBColor = RGBColor(0xb9, 0x1c, 0x1c);
/// The title row's height, and each further legend row's, in points.
const TITLE_ROW: f64 = 34.0;
const LEGEND_ROW: f64 = 22.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Line,
    Bar,
}

/// What to draw: one value per period (oldest first), the last one current.
#[derive(Debug, Clone)]
pub struct ChartSpec {
    pub title: String,
    pub unit: Unit,
    pub labels: Vec<String>,
    pub values: Vec<Option<f64>>,
    /// Rolling 3-month value per period, drawn lighter (empty to leave out).
    pub rolling: Vec<Option<f64>>,
    pub target_green: Option<f64>,
    pub target_amber: Option<f64>,
    /// The comparison period's value and label, drawn as a dashed line.
    pub against: Option<(String, f64)>,
    pub kind: Kind,
    /// Process-behaviour limits to draw: centre line, limits, signals.
    pub limits: Option<ChartLimits>,
    pub width: u32,
    pub height: u32,
}

/// The centre line and natural process limits of each month (`None` where
/// the month has none), the months that signal, and the chart's name for the
/// legend ("XmR" or "p-chart").
#[derive(Debug, Clone, Default)]
pub struct ChartLimits {
    pub name: String,
    pub centre: Vec<Option<f64>>,
    pub lower: Vec<Option<f64>>,
    pub upper: Vec<Option<f64>>,
    pub signals: Vec<bool>,
}

impl ChartSpec {
    /// Bars for counts, lines for rates, durations and scores.
    pub fn default_kind(unit: Unit) -> Kind {
        if unit == Unit::Count { Kind::Bar } else { Kind::Line }
    }
}

/// Values as drawn: ratios in per cent.
fn scale(unit: Unit, v: f64) -> f64 {
    if unit == Unit::Ratio { v * 100.0 } else { v }
}

fn axis_title(unit: Unit) -> &'static str {
    match unit {
        Unit::Ratio => "per cent",
        Unit::Days => "days",
        Unit::Hours => "hours",
        Unit::Score => "score",
        Unit::Count => "count",
    }
}

/// "2024-03" -> "Mar 24"; other labels as they are.
pub fn short_label(label: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match label.split_once('-') {
        Some((y, m)) if y.len() == 4 && m.len() == 2 => match m.parse::<usize>() {
            Ok(m @ 1..=12) => format!("{} {}", MONTHS[m - 1], &y[2..]),
            _ => label.to_owned(),
        },
        _ => label.to_owned(),
    }
}

fn pe<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing the chart: {e}")
}

pub fn svg(spec: &ChartSpec) -> Result<String> {
    register_font();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (spec.width, spec.height)).into_drawing_area();
        draw(&root, spec)?;
        root.present().map_err(pe)?;
    }
    Ok(out)
}

pub fn png(spec: &ChartSpec, path: &Path) -> Result<()> {
    register_font();
    // Twice the pixels, so the picture stays sharp on slides.
    let mut big = spec.clone();
    big.width *= 2;
    big.height *= 2;
    let root = BitMapBackend::new(path, (big.width, big.height)).into_drawing_area();
    draw_scaled(&root, &big, 2.0)?;
    root.present().map_err(pe)?;
    Ok(())
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, spec: &ChartSpec) -> Result<()> {
    draw_scaled(root, spec, 1.0)
}

fn draw_scaled<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, spec: &ChartSpec, k: f64) -> Result<()> {
    let px = |v: f64| (v * k).round() as i32;
    let pt = |v: f64| v * k;
    root.fill(&WHITE).map_err(pe)?;
    let n = spec.values.len().max(1);
    let values: Vec<Option<f64>> = spec.values.iter().map(|v| v.map(|x| scale(spec.unit, x))).collect();
    let rolling: Vec<Option<f64>> = spec.rolling.iter().map(|v| v.map(|x| scale(spec.unit, x))).collect();
    let green = spec.target_green.map(|x| scale(spec.unit, x));
    let amber = spec.target_amber.map(|x| scale(spec.unit, x));
    let against = spec.against.as_ref().map(|(l, v)| (l.clone(), scale(spec.unit, *v)));
    let scaled = |v: &[Option<f64>]| -> Vec<Option<f64>> { v.iter().map(|x| x.map(|y| scale(spec.unit, y))).collect() };
    let limits = spec
        .limits
        .as_ref()
        .map(|l| (scaled(&l.centre), scaled(&l.lower), scaled(&l.upper)));

    // Legend: only what is drawn.
    let mut legend: Vec<(String, RGBColor, Mark)> = vec![(
        if spec.kind == Kind::Bar { "monthly" } else { "value" }.to_owned(),
        SERIES,
        Mark::Line,
    )];
    if rolling.iter().any(Option::is_some) {
        legend.push(("rolling 3 months".into(), ROLLING, Mark::Line));
    }
    if green.is_some() {
        legend.push(("green target".into(), GREEN, Mark::Dashed));
    }
    if amber.is_some() {
        legend.push(("amber".into(), AMBER, Mark::Dashed));
    }
    if let Some((l, _)) = &against {
        legend.push((l.clone(), AGAINST, Mark::Dashed));
    }
    if let Some(l) = &spec.limits {
        legend.push((format!("limits ({})", l.name), LIMIT, Mark::Dashed));
        if l.signals.iter().any(|s| *s) {
            legend.push(("signal".into(), SIGNAL, Mark::Ring));
        }
    }
    let title_font = (FAMILY, pt(20.0)).into_font().color(&INK);
    let legend_font = (FAMILY, pt(14.0)).into_font().color(&MUTED);
    let mut item_widths = Vec::new();
    for (label, _, _) in &legend {
        let (tw, _) = root.estimate_text_size(label, &legend_font).map_err(pe)?;
        item_widths.push(f64::from(tw) + pt(36.0));
    }
    // The title, shortened with an ellipsis if it is wider than the chart.
    let room = f64::from(spec.width) - pt(16.0);
    let mut title = spec.title.clone();
    let mut kept: Vec<char> = spec.title.chars().collect();
    while kept.len() > 1 && f64::from(root.estimate_text_size(&title, &title_font).map_err(pe)?.0) > room {
        kept.pop();
        let shown: String = kept.iter().collect();
        title = format!("{}…", shown.trim_end());
    }
    let (title_w, _) = root.estimate_text_size(&title, &title_font).map_err(pe)?;
    let rows = legend_rows(f64::from(title_w) + pt(24.0), &item_widths, room);
    let legend_rows_below = rows.iter().map(|r| r.row).max().unwrap_or(0);
    let top_h = TITLE_ROW + LEGEND_ROW * legend_rows_below as f64;
    let (top, body) = root.split_vertically(px(top_h));
    top.draw(&Text::new(title, (px(8.0), px(7.0)), title_font))
        .map_err(pe)?;
    for ((label, color, mark), place) in legend.iter().zip(&rows) {
        let y_text = if place.row == 0 {
            px(10.0)
        } else {
            px(TITLE_ROW + LEGEND_ROW * (place.row as f64 - 1.0) + 2.0)
        };
        // The label's left edge; its mark is drawn 24 points left of it.
        let x = f64::from(spec.width) - pt(8.0) - place.right + pt(36.0);
        top.draw(&Text::new(label.clone(), (x as i32, y_text), legend_font.clone()))
            .map_err(pe)?;
        let y = y_text + px(7.0);
        let x0 = (x - pt(24.0)) as i32;
        let style = color.stroke_width(px(2.0).max(1) as u32);
        match mark {
            Mark::Dashed => {
                for s in 0..3 {
                    let a = x0 + px(7.0) * s;
                    top.draw(&PathElement::new(vec![(a, y), (a + px(4.0), y)], style))
                        .map_err(pe)?;
                }
            }
            Mark::Line => {
                top.draw(&PathElement::new(vec![(x0, y), (x0 + px(18.0), y)], style))
                    .map_err(pe)?;
            }
            Mark::Ring => {
                top.draw(&Circle::new((x0 + px(9.0), y), px(5.0), style)).map_err(pe)?;
            }
        }
    }

    let mut ymax = values
        .iter()
        .chain(rolling.iter())
        .flatten()
        .copied()
        .chain(green)
        .chain(amber)
        .chain(against.as_ref().map(|a| a.1))
        .chain(limits.iter().flat_map(|(_, _, upper)| upper.iter().flatten().copied()))
        .fold(0.0f64, f64::max);
    if spec.unit == Unit::Ratio {
        ymax = if ymax > 0.0 { (ymax * 1.15).min(100.0) } else { 100.0 };
    } else {
        ymax = if ymax > 0.0 { ymax * 1.15 } else { 1.0 };
    }
    let mut chart = ChartBuilder::on(&body)
        .margin_left(px(8.0))
        .margin_right(px(16.0))
        .margin_bottom(px(4.0))
        .x_label_area_size(px(30.0))
        .y_label_area_size(px(62.0))
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..ymax)
        .map_err(pe)?;
    let labels: Vec<String> = spec.labels.iter().map(|l| short_label(l)).collect();
    // At most 12 labels: every other month for 24 months, so none overlap.
    let step = n.div_ceil(12).max(1);
    let x_fmt = |x: &f64| {
        let i = x.round();
        if (x - i).abs() > 1e-6 || i < 0.0 {
            return String::new();
        }
        let i = i as usize;
        // Label from the last (current) period backwards, so it is always shown.
        if !(n - 1 - i.min(n - 1)).is_multiple_of(step) {
            return String::new();
        }
        labels.get(i).cloned().unwrap_or_default()
    };
    let unit = spec.unit;
    let y_fmt = |y: &f64| axis_value(unit, *y);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(GRID.stroke_width(px(1.0).max(1) as u32))
        .light_line_style(WHITE.mix(0.0))
        .axis_style(MUTED.stroke_width(px(1.0).max(1) as u32))
        .x_labels(n)
        .x_label_formatter(&x_fmt)
        .y_labels(6)
        .y_label_formatter(&y_fmt)
        .y_desc(axis_title(spec.unit))
        .axis_desc_style((FAMILY, pt(14.0)).into_font().color(&MUTED))
        .label_style((FAMILY, pt(14.0)).into_font().color(&MUTED))
        .draw()
        .map_err(pe)?;

    let hline = |v: f64| vec![(-0.5, v), (n as f64 - 0.5, v)];
    let dash_style = |c: RGBColor| c.stroke_width(px(1.5).max(1) as u32);
    for (v, c) in [(amber, AMBER), (green, GREEN)] {
        if let Some(v) = v {
            chart
                .draw_series(DashedLineSeries::new(hline(v), px(6.0), px(4.0), dash_style(c)))
                .map_err(pe)?;
        }
    }
    if let Some((_, v)) = &against {
        chart
            .draw_series(DashedLineSeries::new(hline(*v), px(2.0), px(3.0), dash_style(AGAINST)))
            .map_err(pe)?;
    }

    if let Some((centre, lower, upper)) = &limits {
        for seg in segments(centre) {
            chart
                .draw_series(LineSeries::new(seg, LIMIT.stroke_width(px(1.0).max(1) as u32)))
                .map_err(pe)?;
        }
        for band in [lower, upper] {
            for seg in segments(band) {
                chart
                    .draw_series(DashedLineSeries::new(seg, px(4.0), px(3.0), dash_style(LIMIT)))
                    .map_err(pe)?;
            }
        }
    }

    let last = values.len().checked_sub(1);
    match spec.kind {
        Kind::Bar => {
            chart
                .draw_series(values.iter().enumerate().filter_map(|(i, v)| {
                    let v = (*v)?;
                    let color = if Some(i) == last { CURRENT } else { SERIES };
                    let x = i as f64;
                    Some(Rectangle::new([(x - 0.34, 0.0), (x + 0.34, v)], color.filled()))
                }))
                .map_err(pe)?;
            for seg in segments(&rolling) {
                chart
                    .draw_series(LineSeries::new(seg, ROLLING.stroke_width(px(2.0) as u32)))
                    .map_err(pe)?;
            }
        }
        Kind::Line => {
            for seg in segments(&rolling) {
                chart
                    .draw_series(LineSeries::new(seg, ROLLING.stroke_width(px(2.0) as u32)))
                    .map_err(pe)?;
            }
            for seg in segments(&values) {
                chart
                    .draw_series(LineSeries::new(seg, SERIES.stroke_width(px(2.0) as u32)))
                    .map_err(pe)?;
            }
            chart
                .draw_series(values.iter().enumerate().filter_map(|(i, v)| {
                    let v = (*v)?;
                    let (color, r) = if Some(i) == last { (CURRENT, 5.0) } else { (SERIES, 3.0) };
                    Some(Circle::new((i as f64, v), px(r), color.filled()))
                }))
                .map_err(pe)?;
        }
    }
    // Signals: a ring around each month that signals.
    if let Some(l) = &spec.limits {
        chart
            .draw_series(values.iter().zip(&l.signals).enumerate().filter_map(|(i, (v, s))| {
                let v = (*v)?;
                s.then(|| Circle::new((i as f64, v), px(8.0), SIGNAL.stroke_width(px(2.0).max(1) as u32)))
            }))
            .map_err(pe)?;
    }
    // The current value, written above the last point.
    if let Some(i) = last
        && let Some(v) = values[i]
    {
        let text = output::fmt_value(spec.unit, spec.values[i]);
        // Above the point, or below it when the point is near the top.
        let high = v > ymax * 0.85;
        let font = (FAMILY, pt(16.0))
            .into_font()
            .color(&CURRENT)
            .pos(Pos::new(HPos::Right, if high { VPos::Top } else { VPos::Bottom }));
        let y = if high { v - ymax * 0.04 } else { v + ymax * 0.03 };
        chart
            .draw_series(std::iter::once(Text::new(text, (i as f64 + 0.3, y), font)))
            .map_err(pe)?;
    }
    if values.iter().all(Option::is_none) {
        let font = (FAMILY, pt(17.0))
            .into_font()
            .color(&MUTED)
            .pos(Pos::new(HPos::Center, VPos::Center));
        chart
            .draw_series(std::iter::once(Text::new(
                "no data in these months".to_owned(),
                ((n as f64 - 1.0) / 2.0, ymax / 2.0),
                font,
            )))
            .map_err(pe)?;
    }
    Ok(())
}

/// How a legend item is marked.
#[derive(Debug, Clone, Copy)]
enum Mark {
    Line,
    Dashed,
    Ring,
}

/// Where a legend item goes: its row (0 beside the title, 1.. below it), and
/// how far its left end is from the right edge of the legend area.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Place {
    row: usize,
    right: f64,
}

/// Lay the legend out so it never runs into the title: beside the title,
/// right-aligned, when everything fits in `room`; else in rows of their own
/// below it, as many as it takes.
fn legend_rows(title_w: f64, widths: &[f64], room: f64) -> Vec<Place> {
    let mut rows: Vec<Vec<usize>> = Vec::new();
    if title_w + widths.iter().sum::<f64>() <= room {
        rows.push((0..widths.len()).collect());
    } else {
        rows.push(Vec::new());
        let mut cur: Vec<usize> = Vec::new();
        let mut used = 0.0;
        for (i, w) in widths.iter().enumerate() {
            if !cur.is_empty() && used + w > room {
                rows.push(std::mem::take(&mut cur));
                used = 0.0;
            }
            cur.push(i);
            used += w;
        }
        if !cur.is_empty() {
            rows.push(cur);
        }
    }
    let mut out = vec![Place { row: 0, right: 0.0 }; widths.len()];
    for (row, items) in rows.iter().enumerate() {
        let mut start = 0.0;
        for &i in items.iter().rev() {
            out[i] = Place {
                row,
                right: start + widths[i],
            };
            start += widths[i];
        }
    }
    out
}

/// Runs of consecutive values (a missing month breaks the line).
fn segments(values: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => cur.push((i as f64, *v)),
            None if !cur.is_empty() => out.push(std::mem::take(&mut cur)),
            None => {}
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Axis tick labels (values already scaled for display).
fn axis_value(unit: Unit, y: f64) -> String {
    match unit {
        Unit::Ratio => format!("{y:.0}%"),
        Unit::Score => format!("{y:.1}"),
        _ if y.abs() >= 10.0 || y.fract().abs() < 1e-9 => format!("{y:.0}"),
        _ => format!("{y:.1}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(n: usize) -> ChartSpec {
        ChartSpec {
            title: "Change failure rate <&>".into(),
            unit: Unit::Ratio,
            labels: (0..n).map(|i| format!("{}-{:02}", 2023 + i / 12, i % 12 + 1)).collect(),
            values: (0..n)
                .map(|i| if i == 3 { None } else { Some(0.1 + i as f64 / 100.0) })
                .collect(),
            rolling: (0..n).map(|i| Some(0.12 + i as f64 / 200.0)).collect(),
            target_green: Some(0.15),
            target_amber: Some(0.25),
            against: Some(("2024-11".into(), 0.2)),
            kind: Kind::Line,
            limits: None,
            width: 800,
            height: 300,
        }
    }

    #[test]
    fn font_parses() {
        assert!(plotters::style::register_font("relkpi-test", FontStyle::Normal, FONT).is_ok());
    }

    #[test]
    fn svg_has_every_part_and_escapes_text() {
        let s = svg(&spec(24)).unwrap();
        assert!(s.starts_with("<svg"), "{}", &s[..50]);
        assert!(s.contains("Change failure rate &lt;&amp;&gt;"));
        // 23 points plus the legend's marks; one label every other month.
        assert_eq!(s.matches("<circle").count(), 23);
        assert!(s.contains(">\nDec 24\n<") && s.contains(">\nOct 24\n<") && !s.contains(">\nNov 24\n<"));
        assert!(s.contains("green target") && s.contains("2024-11"));
    }

    #[test]
    fn bars_and_empty_chart() {
        let mut sp = spec(6);
        sp.kind = Kind::Bar;
        sp.unit = Unit::Count;
        sp.values = vec![Some(3.0), Some(0.0), None, Some(7.0), Some(2.0), Some(5.0)];
        let s = svg(&sp).unwrap();
        assert!(s.matches("<rect").count() >= 5);
        sp.values = vec![None; 6];
        sp.rolling = vec![];
        assert!(svg(&sp).unwrap().contains("no data in these months"));
    }

    #[test]
    fn png_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.png");
        png(&spec(12), &p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(bytes.len() > 5000);
    }

    /// The legend shares the title's row only when both fit; otherwise it
    /// goes below, so the two never overlap, whatever the title's length.
    #[test]
    fn legend_never_runs_into_the_title() {
        let widths = [80.0, 150.0, 120.0];
        // Short title: one row, right-aligned, clear of the title.
        let p = legend_rows(200.0, &widths, 624.0);
        assert!(p.iter().all(|x| x.row == 0));
        assert_eq!(p[2].right, 120.0);
        assert_eq!(p[0].right, 350.0);
        assert!(624.0 - p[0].right >= 200.0);
        // Long title: every item below it, wrapped to the width.
        let p = legend_rows(400.0, &widths, 624.0);
        assert!(p.iter().all(|x| x.row >= 1));
        let p = legend_rows(400.0, &widths, 250.0);
        // 80 + 150 fit in 250; 120 more does not.
        assert_eq!(p.iter().map(|x| x.row).collect::<Vec<_>>(), vec![1, 1, 2]);
        assert!(p.iter().all(|x| x.right <= 250.0 + 1e-9));
    }

    /// At 1280 px and at the report's 640, a long title and the full legend
    /// (targets, comparison, limits, signals) draw apart: every legend label
    /// sits beside a short title or below a long one.
    #[test]
    fn long_titles_and_legends_do_not_overlap() {
        let mut sp = spec(12);
        sp.limits = Some(ChartLimits {
            name: "XmR".into(),
            centre: vec![Some(0.15); 12],
            lower: vec![Some(0.05); 12],
            upper: vec![Some(0.25); 12],
            signals: (0..12).map(|i| i == 11).collect(),
        });
        for (title, width) in [
            ("Change policy compliance", 640),
            ("Failed deployment recovery time", 640),
            ("Release schedule adherence", 1280),
            (
                "A very long title that would run across the whole of a chart of this width and more",
                640,
            ),
        ] {
            sp.title = title.into();
            sp.width = width;
            let s = svg(&sp).unwrap();
            assert!(s.contains("limits (XmR)") && s.contains(">\nsignal\n<"), "{title}");
            // The legend's labels are either all on the title's baseline or
            // all on rows below it (y beyond the title row).
            let ys: Vec<i32> = ["limits (XmR)", "green target", "value"]
                .iter()
                .map(|l| text_y(&s, l).unwrap_or_else(|| panic!("{l} in {title}")))
                .collect();
            let title_shown: String = title.chars().take(10).collect();
            let ty = text_y(&s, &title_shown).expect("the title");
            let title_w = (title.len() as f64) * 10.0;
            if title_w + 600.0 > f64::from(width) {
                assert!(ys.iter().all(|y| *y > ty + 20), "{title}: {ys:?} vs title at {ty}");
            }
        }
    }

    /// The y of the first `<text>` whose content starts with `label`.
    fn text_y(svg: &str, label: &str) -> Option<i32> {
        let at = svg.find(&format!(">\n{label}"))?;
        let open = svg[..at].rfind("<text")?;
        let tag = &svg[open..at];
        let y = tag.split("y=\"").nth(1)?.split('"').next()?;
        y.parse::<f64>().ok().map(|v| v as i32)
    }

    #[test]
    fn month_labels() {
        assert_eq!(short_label("2024-03"), "Mar 24");
        assert_eq!(short_label("2024-Q1"), "2024-Q1");
    }
}

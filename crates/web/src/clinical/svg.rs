//! The odontogram as SVG, drawn here from the chart's computed state: per tooth a crown of
//! five surfaces (the classic cross: buccal or facial on the outside of the arch, lingual
//! toward the tongue or palate, mesial toward the midline) and a root, with marks for crowns,
//! root canals, implants, pontics, missing teeth and planned extractions.
//!
//! Every tooth is a link (`?tooth=16`) so the chart works without scripts; `chart.js` turns a
//! click on a surface into the entry form's tooth and surfaces.

use std::collections::BTreeMap;
use std::fmt::Write;

use domain::clinical::chart::{ChartStatus, ToothView};
use domain::clinical::teeth::{Dentition, Numbering, Quadrant, Surface, Tooth, arch_order};

/// Width of one tooth's column and side of its crown square.
const CELL: f32 = 44.0;
const SQ: f32 = 32.0;
const ROOT: f32 = 22.0;
const MARGIN: f32 = 8.0;

pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn status_class(s: ChartStatus) -> &'static str {
    match s {
        ChartStatus::Planned => "st-plan",
        ChartStatus::Completed => "st-done",
        ChartStatus::Existing => "st-exist",
        ChartStatus::Condition => "st-cond",
    }
}

/// What the drawing needs besides the chart.
pub struct Drawing<'a> {
    pub view: &'a BTreeMap<Tooth, ToothView>,
    pub numbering: Numbering,
    pub dentition: Dentition,
    pub selected: Option<Tooth>,
    /// `?…` to keep in each tooth's link (dentition).
    pub link_base: &'a str,
    /// A tooth's accessible description (what is charted on it).
    pub describe: &'a dyn Fn(Tooth) -> String,
}

/// The column of a tooth: permanent teeth fill 16 columns; a primary tooth sits under its
/// successor.
fn column(t: Tooth) -> f32 {
    let s = t.successor();
    let upper = s.is_upper();
    let order = arch_order(upper, false);
    order.iter().position(|x| *x == s).unwrap_or(0) as f32
}

pub fn odontogram(d: &Drawing) -> String {
    let rows: Vec<(bool, bool)> = match d.dentition {
        Dentition::Permanent => vec![(true, false), (false, false)],
        Dentition::Primary => vec![(true, true), (false, true)],
        Dentition::Mixed => vec![(true, false), (true, true), (false, true), (false, false)],
    };
    let row_h = 14.0 + ROOT + SQ + 10.0;
    let width = MARGIN * 2.0 + CELL * 16.0;
    let height = MARGIN * 2.0 + row_h * rows.len() as f32 + 14.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="odontogram" id="odontogram" viewBox="0 0 {width} {height}" role="group" aria-label="odontogram" xmlns="http://www.w3.org/2000/svg">"#
    );
    // The midline and the occlusal plane.
    let mid_x = MARGIN + CELL * 8.0;
    let plane_y = MARGIN + row_h * (rows.len() / 2) as f32 + 7.0;
    let _ = write!(
        s,
        r#"<line class="midline" x1="{mid_x}" y1="{MARGIN}" x2="{mid_x}" y2="{}"/><line class="midline" x1="{MARGIN}" y1="{plane_y}" x2="{}" y2="{plane_y}"/>"#,
        height - MARGIN,
        width - MARGIN
    );
    for (i, (upper, primary)) in rows.iter().enumerate() {
        // Lower rows start after the occlusal plane's gap.
        let gap = if *upper { 0.0 } else { 14.0 };
        let top = MARGIN + row_h * i as f32 + gap;
        let order = arch_order(*upper, *primary);
        for t in &order {
            tooth(&mut s, d, *t, top);
        }
        bridges(&mut s, d, &order, top);
    }
    s.push_str("</svg>");
    s
}

/// The bridges of one row: runs of neighbouring teeth joined over a gap — at least one
/// pontic, with the crowned teeth (abutments) or further pontics next to it — drawn as a bar
/// across the run, in the pontic's status.
fn bridges(s: &mut String, d: &Drawing, order: &[Tooth], top: f32) {
    let view = |t: &Tooth| d.view.get(t).cloned().unwrap_or_default();
    let mut i = 0;
    while i < order.len() {
        if view(&order[i]).pontic.is_none() {
            i += 1;
            continue;
        }
        // A pontic: extend over neighbouring pontics, then take the abutment on each side.
        let mut start = i;
        let mut end = i;
        while end + 1 < order.len() && view(&order[end + 1]).pontic.is_some() {
            end += 1;
        }
        if start > 0 && view(&order[start - 1]).crown.is_some() {
            start -= 1;
        }
        if end + 1 < order.len() && view(&order[end + 1]).crown.is_some() {
            end += 1;
        }
        let status = order[start..=end]
            .iter()
            .find_map(|t| view(t).pontic)
            .unwrap_or(ChartStatus::Existing);
        if end > start {
            let first = order[start];
            let x1 = MARGIN + CELL * column(first) + CELL / 2.0;
            let x2 = MARGIN + CELL * column(order[end]) + CELL / 2.0;
            let crown_y = if first.is_upper() {
                top + 14.0 + ROOT
            } else {
                top
            };
            let y = crown_y + SQ / 2.0 - 3.0;
            let teeth: Vec<String> = order[start..=end]
                .iter()
                .map(|t| t.show(d.numbering))
                .collect();
            let _ = write!(
                s,
                r#"<rect class="bridge {}" data-teeth="{}" x="{x1}" y="{y}" width="{}" height="6" rx="3"><title>bridge {}</title></rect>"#,
                status_class(status),
                esc(&teeth.join(" ")),
                x2 - x1,
                esc(&teeth.join("–"))
            );
        }
        i = end + 1;
    }
}

fn tooth(s: &mut String, d: &Drawing, t: Tooth, top: f32) {
    let v = d.view.get(&t).cloned().unwrap_or_default();
    let x = MARGIN + CELL * column(t) + (CELL - SQ) / 2.0;
    let upper = t.is_upper();
    // Upper: number, root, crown. Lower: crown, root, number.
    let (label_y, root_top, crown_y) = if upper {
        (top + 11.0, top + 14.0, top + 14.0 + ROOT)
    } else {
        (top + SQ + ROOT + 12.0, top + SQ, top)
    };
    let label = t.show(d.numbering);
    let mut classes = String::from("tooth");
    // A missing tooth is drawn faint, unless an implant or a pontic stands in for it.
    if v.missing && v.implant.is_none() && v.pontic.is_none() {
        classes.push_str(" missing");
    }
    if t.is_primary() {
        classes.push_str(" primary");
    }
    if d.selected == Some(t) {
        classes.push_str(" sel");
    }
    let _ = write!(
        s,
        r#"<a href="?{}tooth={}" class="tooth-link" data-tooth="{}" data-label="{}"><g class="{classes}"><title>{}</title>"#,
        d.link_base,
        t.fdi(),
        t.fdi(),
        esc(&label),
        esc(&(d.describe)(t))
    );
    // A transparent target over the whole column.
    let _ = write!(
        s,
        r#"<rect class="hit" x="{}" y="{top}" width="{CELL}" height="{}"/>"#,
        x - (CELL - SQ) / 2.0,
        SQ + ROOT + 14.0
    );
    let _ = write!(
        s,
        r#"<text class="tooth-num" x="{}" y="{label_y}" text-anchor="middle">{}</text>"#,
        x + SQ / 2.0,
        esc(&label)
    );
    if v.condition {
        let _ = write!(
            s,
            r#"<circle class="cond-dot" cx="{}" cy="{}" r="3"/>"#,
            x + SQ - 2.0,
            label_y - 4.0
        );
    }
    // The root (or an implant in its place).
    let (r0, r1) = if upper {
        (root_top + ROOT, root_top + 2.0)
    } else {
        (root_top, root_top + ROOT - 2.0)
    };
    let cx = x + SQ / 2.0;
    if let Some(st) = v.implant {
        let _ = write!(
            s,
            r#"<g class="implant {}"><rect x="{}" y="{}" width="8" height="{}" rx="1"/>"#,
            status_class(st),
            cx - 4.0,
            r0.min(r1),
            (r1 - r0).abs()
        );
        let mut yy = r0.min(r1) + 3.0;
        while yy < r0.max(r1) - 1.0 {
            let _ = write!(
                s,
                r#"<line x1="{}" y1="{yy}" x2="{}" y2="{yy}"/>"#,
                cx - 6.0,
                cx + 6.0
            );
            yy += 4.0;
        }
        s.push_str("</g>");
    } else if v.pontic.is_none() {
        let cls = match v.root_canal {
            Some(st) => format!("root rct {}", status_class(st)),
            None => "root".into(),
        };
        let _ = write!(
            s,
            r#"<polygon class="{cls}" points="{},{r0} {},{r0} {},{r1} {},{r1}"/>"#,
            x + 8.0,
            x + SQ - 8.0,
            cx + 2.5,
            cx - 2.5
        );
        if let Some(st) = v.root_canal {
            let _ = write!(
                s,
                r#"<line class="rct-line {}" x1="{cx}" y1="{r0}" x2="{cx}" y2="{r1}"/>"#,
                status_class(st)
            );
        }
    }
    // The crown: five surfaces.
    let y = crown_y;
    let (a, b) = (SQ / 3.0, 2.0 * SQ / 3.0);
    let outer_is_top = upper;
    let mesial_right = matches!(t.quadrant(), Quadrant::UpperRight | Quadrant::LowerRight);
    let edge = if t.is_anterior() {
        Surface::Incisal
    } else {
        Surface::Occlusal
    };
    let top_s = if outer_is_top {
        Surface::Buccal
    } else {
        Surface::Lingual
    };
    let bottom_s = if outer_is_top {
        Surface::Lingual
    } else {
        Surface::Buccal
    };
    let (left_s, right_s) = if mesial_right {
        (Surface::Distal, Surface::Mesial)
    } else {
        (Surface::Mesial, Surface::Distal)
    };
    let polys: [(Surface, String); 4] = [
        (
            top_s,
            format!(
                "{x},{y} {},{y} {},{} {},{}",
                x + SQ,
                x + b,
                y + a,
                x + a,
                y + a
            ),
        ),
        (
            bottom_s,
            format!(
                "{x},{} {},{} {},{} {},{}",
                y + SQ,
                x + SQ,
                y + SQ,
                x + b,
                y + b,
                x + a,
                y + b
            ),
        ),
        (
            left_s,
            format!(
                "{x},{y} {},{} {},{} {x},{}",
                x + a,
                y + a,
                x + a,
                y + b,
                y + SQ
            ),
        ),
        (
            right_s,
            format!(
                "{},{y} {},{} {},{} {},{}",
                x + SQ,
                x + b,
                y + a,
                x + b,
                y + b,
                x + SQ,
                y + SQ
            ),
        ),
    ];
    let srf_class = |surface: Surface| match v.surfaces.get(&surface) {
        Some(st) => format!("srf {}", status_class(*st)),
        None => "srf".into(),
    };
    for (surface, points) in &polys {
        let _ = write!(
            s,
            r#"<polygon class="{}" data-surface="{}" points="{points}"/>"#,
            srf_class(*surface),
            surface.letter_on(t)
        );
    }
    let _ = write!(
        s,
        r#"<rect class="{}" data-surface="{}" x="{}" y="{}" width="{a}" height="{a}"/>"#,
        srf_class(edge),
        edge.letter_on(t),
        x + a,
        y + a
    );
    if let Some(st) = v.sealant {
        let _ = write!(
            s,
            r#"<circle class="sealant {}" cx="{cx}" cy="{}" r="3"/>"#,
            status_class(st),
            y + SQ / 2.0
        );
    }
    if let Some(st) = v.veneer {
        let vy = if outer_is_top { y + 1.5 } else { y + SQ - 1.5 };
        let _ = write!(
            s,
            r#"<line class="veneer {}" x1="{x}" y1="{vy}" x2="{}" y2="{vy}"/>"#,
            status_class(st),
            x + SQ
        );
    }
    if let Some(st) = v.crown {
        let _ = write!(
            s,
            r#"<rect class="crown {}" x="{}" y="{}" width="{}" height="{}" rx="4"/>"#,
            status_class(st),
            x - 2.5,
            y - 2.5,
            SQ + 5.0,
            SQ + 5.0
        );
    }
    if let Some(st) = v.pontic {
        let _ = write!(
            s,
            r#"<rect class="pontic {}" x="{}" y="{}" width="{}" height="{}" rx="4"/>"#,
            status_class(st),
            x - 2.5,
            y - 2.5,
            SQ + 5.0,
            SQ + 5.0
        );
    }
    if v.extraction_planned {
        let (y0, y1) = if upper {
            (root_top, y + SQ)
        } else {
            (y, root_top + ROOT)
        };
        let _ = write!(
            s,
            r#"<g class="ext-plan"><line x1="{}" y1="{y0}" x2="{}" y2="{y1}"/><line x1="{}" y1="{y0}" x2="{}" y2="{y1}"/></g>"#,
            x - 2.0,
            x + SQ + 2.0,
            x + SQ + 2.0,
            x - 2.0
        );
    }
    s.push_str("</g></a>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::clinical::catalog::Effect;
    use domain::clinical::chart::{Mark, Site, odontogram as compute};
    use domain::clinical::teeth::Surfaces;

    fn draw(marks: &[Mark], dentition: Dentition) -> String {
        let view = compute(marks);
        let describe = |t: Tooth| format!("tooth {t}");
        odontogram(&Drawing {
            view: &view,
            numbering: Numbering::Fdi,
            dentition,
            selected: Tooth::from_fdi(16),
            link_base: "",
            describe: &describe,
        })
    }

    #[test]
    fn each_dentition_draws_its_teeth() {
        for (d, n) in [
            (Dentition::Permanent, 32),
            (Dentition::Primary, 20),
            (Dentition::Mixed, 52),
        ] {
            let svg = draw(&[], d);
            assert_eq!(svg.matches("class=\"tooth-link\"").count(), n, "{d:?}");
            // Five surfaces a tooth.
            assert_eq!(svg.matches("data-surface=").count(), n * 5, "{d:?}");
        }
    }

    #[test]
    fn a_planned_mod_on_16_colours_three_surfaces_of_16() {
        let t = Tooth::from_fdi(16).unwrap();
        let svg = draw(
            &[Mark {
                site: Site::Tooth(t, Surfaces::parse_for("MOD", t).unwrap()),
                status: ChartStatus::Planned,
                effect: Effect::Restoration,
            }],
            Dentition::Permanent,
        );
        assert_eq!(svg.matches("srf st-plan").count(), 3);
        let start = svg.find("data-tooth=\"16\"").unwrap();
        let end = start + svg[start..].find("</a>").unwrap();
        let tooth16 = &svg[start..end];
        for letter in ["M", "O", "D"] {
            assert!(
                tooth16.contains(&format!("class=\"srf st-plan\" data-surface=\"{letter}\"")),
                "{letter}"
            );
        }
        assert!(svg.contains("class=\"tooth sel\""));
        assert!(!svg.contains("class=\"bridge"));
        assert_eq!(esc("<a&\"'>"), "&lt;a&amp;&quot;&#39;&gt;");
    }

    #[test]
    fn a_bridge_joins_its_abutments_over_the_pontic() {
        let mark = |fdi: u8, effect: Effect, status: ChartStatus| Mark {
            site: Site::Tooth(Tooth::from_fdi(fdi).unwrap(), Surfaces::default()),
            status,
            effect,
        };
        // 14 and 16 crowned, 15 a pontic (existing); 21 to 23 planned, 22 the pontic; a lone
        // crown on 36 is no bridge.
        let svg = draw(
            &[
                mark(15, Effect::Missing, ChartStatus::Existing),
                mark(14, Effect::Crown, ChartStatus::Existing),
                mark(15, Effect::Pontic, ChartStatus::Existing),
                mark(16, Effect::Crown, ChartStatus::Existing),
                mark(21, Effect::Crown, ChartStatus::Planned),
                mark(22, Effect::Pontic, ChartStatus::Planned),
                mark(23, Effect::Crown, ChartStatus::Planned),
                mark(36, Effect::Crown, ChartStatus::Existing),
            ],
            Dentition::Permanent,
        );
        assert_eq!(svg.matches("<rect class=\"bridge ").count(), 2, "{svg}");
        assert!(svg.contains("class=\"bridge st-exist\" data-teeth=\"16 15 14\""));
        assert!(svg.contains("class=\"bridge st-plan\" data-teeth=\"21 22 23\""));
    }
}

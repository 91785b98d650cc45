//! QR codes as inline SVG, for showing an `otpauth://` enrolment URI to a phone camera.
//!
//! The `qrcode` crate only builds the module matrix (no image or renderer features); the SVG
//! is written here: a white background and one `<path>` holding every dark module, with the
//! four-module quiet zone the standard requires. There is no `width`/`height`, so CSS sizes it.

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the code, per ISO/IEC 18004.
const QUIET_ZONE: usize = 4;

/// Renders `data` as a standalone SVG QR code (error correction level M), labelled for
/// assistive technology with `label`. `None` if the data does not fit in a QR code.
pub fn svg(data: &str, label: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let side = width + 2 * QUIET_ZONE;

    // One horizontal run of dark modules becomes one closed rectangle: M x y h n v1 h-n z.
    let mut path = String::with_capacity(colors.len() * 3);
    for (y, row) in colors.chunks(width.max(1)).enumerate() {
        let mut x = 0;
        while x < row.len() {
            if row.get(x) != Some(&Color::Dark) {
                x += 1;
                continue;
            }
            let start = x;
            while row.get(x) == Some(&Color::Dark) {
                x += 1;
            }
            let run = x - start;
            // Writing to a String cannot fail.
            let _ = write!(
                path,
                "M{} {}h{run}v1h-{run}z",
                start + QUIET_ZONE,
                y + QUIET_ZONE
            );
        }
    }

    Some(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" "#,
            r#"shape-rendering="crispEdges" role="img" aria-label="{label}">"#,
            r##"<rect width="{side}" height="{side}" fill="#fff"/>"##,
            r##"<path fill="#000" d="{path}"/></svg>"##
        ),
        side = side,
        label = escape_xml(label),
        path = path,
    ))
}

/// Escapes text for an XML attribute value or text node.
fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "otpauth://totp/Cuspid:ann.lee%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Cuspid&algorithm=SHA1&digits=6&period=30";

    /// The attribute value after `name="`.
    fn attribute<'a>(svg: &'a str, name: &str) -> &'a str {
        let start = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let len = svg[start..].find('"').unwrap();
        &svg[start..start + len]
    }

    /// Rebuilds the dark-module grid (quiet zone included) from the path data.
    fn grid_from_path(d: &str, side: usize) -> Vec<bool> {
        let mut grid = vec![false; side * side];
        for rect in d.split('z').filter(|r| !r.is_empty()) {
            let rest = rect.strip_prefix('M').unwrap();
            let (x, rest) = rest.split_once(' ').unwrap();
            let (y, rest) = rest.split_once('h').unwrap();
            let (run, rest) = rest.split_once("v1h-").unwrap();
            assert_eq!(run, rest, "each rectangle closes on itself");
            let (x, y, run): (usize, usize, usize) =
                (x.parse().unwrap(), y.parse().unwrap(), run.parse().unwrap());
            for dx in 0..run {
                let cell = &mut grid[y * side + x + dx];
                assert!(!*cell, "rectangles do not overlap");
                *cell = true;
            }
        }
        grid
    }

    #[test]
    fn renders_a_standalone_svg() {
        let svg = svg(URI, "Scan with your authenticator app").unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(r#"xmlns="http://www.w3.org/2000/svg""#));
        assert!(svg.contains(r#"shape-rendering="crispEdges""#));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"aria-label="Scan with your authenticator app""#));
        assert_eq!(svg.matches("<path").count(), 1);
        assert!(!svg.contains(" width=\"1") && !svg.contains("<svg width"));
        assert!(!attribute(&svg, "d").is_empty());
    }

    #[test]
    fn label_is_escaped() {
        let svg = svg("x", r#"<script>"a" & 'b'</script>"#).unwrap();
        assert!(!svg.contains("<script"));
        assert!(svg.contains(
            "aria-label=\"&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;\""
        ));
    }

    #[test]
    fn modules_match_the_qr_matrix() {
        assert!((80..=160).contains(&URI.len()), "a typical otpauth URI");
        let code = QrCode::with_error_correction_level(URI, EcLevel::M).unwrap();
        let width = code.width();
        let svg = svg(URI, "QR").unwrap();

        let side = width + 2 * QUIET_ZONE;
        assert_eq!(attribute(&svg, "viewBox"), format!("0 0 {side} {side}"));

        let grid = grid_from_path(attribute(&svg, "d"), side);
        let colors = code.to_colors();
        assert_eq!(colors.len(), width * width);
        for y in 0..side {
            for x in 0..side {
                let inside = (QUIET_ZONE..QUIET_ZONE + width).contains(&x)
                    && (QUIET_ZONE..QUIET_ZONE + width).contains(&y);
                let expected =
                    inside && colors[(y - QUIET_ZONE) * width + (x - QUIET_ZONE)] == Color::Dark;
                assert_eq!(grid[y * side + x], expected, "module ({x}, {y})");
            }
        }
        // Finder pattern corner: the top-left module of the code is dark.
        assert!(grid[QUIET_ZONE * side + QUIET_ZONE]);
    }

    #[test]
    fn too_much_data_is_none() {
        assert!(svg(&"x".repeat(5000), "too big").is_none());
    }
}

//! Colour correctness without shipping a profile: pixels described by an embedded RGB ICC
//! profile other than sRGB (Display P3 from recent phones, Adobe RGB from cameras) are
//! converted to sRGB, so the profile can be dropped and the photo still looks right on every
//! screen. Profiles that already describe sRGB primaries are left alone (no work); gray and
//! CMYK profiles, LUT-only RGB profiles and profiles that fail to parse are ignored and the
//! pixels are taken as sRGB (see docs/photo.md).
//!
//! Camera and phone profiles are matrix/TRC ("matrix-shaper") profiles: three tone curves and
//! three colorants. That is all this reads, so a general CMS (≈ 360 KB of the mobile library,
//! docs/size.md) is not needed: per channel a 256-entry table to linear light, one 3x3 matrix
//! (source colorants, then the inverse of sRGB's, both in the ICC's D50 connection space), and
//! a table back to the sRGB curve. Every read of the profile is bounds-checked: it is outside
//! data.

use super::raster::Raster;

/// How close (in XYZ) colorants must be to sRGB's to count as sRGB.
const SAME_PRIMARIES: f64 = 0.002;

/// sRGB's colorants adapted to D50 (Bradford), as sRGB ICC profiles carry them: columns of
/// the linear-sRGB-to-XYZ matrix.
const SRGB_COLORANTS: [[f64; 3]; 3] = [
    [0.436_074_7, 0.222_504_5, 0.013_932_2],
    [0.385_064_9, 0.716_878_6, 0.097_104_5],
    [0.143_080_4, 0.060_616_9, 0.714_173_3],
];

/// Entries of the linear-light-to-sRGB table: fine enough that dark tones are within one
/// code value.
const OUT_STEPS: usize = 1 << 14;

/// Converts an RGB `image` from the colour space of `icc` to sRGB, in place. Returns whether
/// a conversion ran.
pub(crate) fn to_srgb(image: &mut Raster, icc: Option<&[u8]>) -> bool {
    let Some(icc) = icc else {
        return false;
    };
    if image.channels != 3 {
        return false;
    }
    let Some(profile) = MatrixShaper::parse(icc) else {
        return false;
    };
    if profile.is_srgb() {
        return false;
    }
    let Some(transform) = Transform::new(&profile) else {
        return false;
    };
    transform.apply(&mut image.pixels);
    true
}

/// A tone curve of the profile: encoded value in 0..=1 to linear light.
#[derive(Debug, Clone, PartialEq)]
enum Curve {
    Gamma(f64),
    Table(Vec<u16>),
    /// ICC parametric curve: function type 0..=4 with its parameters (g, a, b, c, d, e, f).
    Parametric(u16, [f64; 7]),
}

impl Curve {
    fn eval(&self, x: f64) -> f64 {
        let y = match self {
            Curve::Gamma(g) => x.powf(*g),
            Curve::Table(t) => match t.len() {
                0 => x,
                1 => x.powf(f64::from(t[0]) / 256.0),
                n => {
                    let pos = x * (n - 1) as f64;
                    let i = (pos.floor() as usize).min(n - 2);
                    let frac = pos - i as f64;
                    (f64::from(t[i]) * (1.0 - frac) + f64::from(t[i + 1]) * frac) / 65535.0
                }
            },
            Curve::Parametric(kind, [g, a, b, c, d, e, f]) => {
                let pow = |v: f64| if v > 0.0 { v.powf(*g) } else { 0.0 };
                match kind {
                    0 => pow(x),
                    1 => {
                        if x >= -b / a {
                            pow(a * x + b)
                        } else {
                            0.0
                        }
                    }
                    2 => {
                        if x >= -b / a {
                            pow(a * x + b) + c
                        } else {
                            *c
                        }
                    }
                    3 => {
                        if x >= *d {
                            pow(a * x + b)
                        } else {
                            c * x
                        }
                    }
                    _ => {
                        if x >= *d {
                            pow(a * x + b) + e
                        } else {
                            c * x + f
                        }
                    }
                }
            }
        };
        if y.is_finite() {
            y.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// What a matrix/TRC RGB profile says: the colorants (XYZ, D50) and the tone curves.
#[derive(Debug, Clone, PartialEq)]
struct MatrixShaper {
    colorants: [[f64; 3]; 3],
    curves: [Curve; 3],
}

fn be_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn s15f16(b: &[u8], at: usize) -> Option<f64> {
    Some(f64::from(be_u32(b, at)? as i32) / 65536.0)
}

impl MatrixShaper {
    fn parse(icc: &[u8]) -> Option<MatrixShaper> {
        if icc.get(16..20)? != b"RGB " || icc.get(36..40)? != b"acsp" {
            return None;
        }
        let count = be_u32(icc, 128)? as usize;
        if count > 256 {
            return None;
        }
        let tag = |sig: &[u8; 4]| -> Option<&[u8]> {
            (0..count).find_map(|i| {
                let at = 132 + 12 * i;
                if icc.get(at..at + 4)? != sig {
                    return None;
                }
                let offset = be_u32(icc, at + 4)? as usize;
                let size = be_u32(icc, at + 8)? as usize;
                icc.get(offset..offset.checked_add(size)?)
            })
        };
        let xyz = |sig: &[u8; 4]| -> Option<[f64; 3]> {
            let t = tag(sig)?;
            if t.get(0..4)? != b"XYZ " {
                return None;
            }
            Some([s15f16(t, 8)?, s15f16(t, 12)?, s15f16(t, 16)?])
        };
        let curve = |sig: &[u8; 4]| -> Option<Curve> {
            let t = tag(sig)?;
            match t.get(0..4)? {
                b"curv" => {
                    let n = be_u32(t, 8)? as usize;
                    if n == 1 {
                        return Some(Curve::Gamma(f64::from(be_u16(t, 12)?) / 256.0));
                    }
                    let table = (0..n)
                        .map(|i| be_u16(t, 12 + 2 * i))
                        .collect::<Option<Vec<u16>>>()?;
                    Some(Curve::Table(table))
                }
                b"para" => {
                    let kind = be_u16(t, 8)?;
                    let n = match kind {
                        0 => 1,
                        1 => 3,
                        2 => 4,
                        3 => 5,
                        4 => 7,
                        _ => return None,
                    };
                    let mut p = [0.0; 7];
                    for (i, v) in p.iter_mut().enumerate().take(n) {
                        *v = s15f16(t, 12 + 4 * i)?;
                    }
                    if kind != 0 && p[1] == 0.0 {
                        return None;
                    }
                    Some(Curve::Parametric(kind, p))
                }
                _ => None,
            }
        };
        Some(MatrixShaper {
            colorants: [xyz(b"rXYZ")?, xyz(b"gXYZ")?, xyz(b"bXYZ")?],
            curves: [curve(b"rTRC")?, curve(b"gTRC")?, curve(b"bTRC")?],
        })
    }

    fn is_srgb(&self) -> bool {
        let near =
            |a: [f64; 3], b: [f64; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < SAME_PRIMARIES);
        self.colorants
            .iter()
            .zip(SRGB_COLORANTS)
            .all(|(a, b)| near(*a, b))
    }
}

/// 3x3 matrix whose columns are `cols`.
fn from_columns(cols: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut m = [[0.0; 3]; 3];
    for (c, col) in cols.iter().enumerate() {
        for r in 0..3 {
            m[r][c] = col[r];
        }
    }
    m
}

fn invert(m: &[[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let [[a, b, c], [d, e, f], [g, h, i]] = *m;
    let det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
    if det.abs() < 1e-9 || !det.is_finite() {
        return None;
    }
    let k = 1.0 / det;
    Some([
        [
            (e * i - f * h) * k,
            (c * h - b * i) * k,
            (b * f - c * e) * k,
        ],
        [
            (f * g - d * i) * k,
            (a * i - c * g) * k,
            (c * d - a * f) * k,
        ],
        [
            (d * h - e * g) * k,
            (b * g - a * h) * k,
            (a * e - b * d) * k,
        ],
    ])
}

fn multiply(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut m = [[0.0; 3]; 3];
    for (r, row) in m.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[r][k] * b[k][c]).sum();
        }
    }
    m
}

/// sRGB's encoding of linear light in 0..=1.
fn srgb_encode(linear: f64) -> f64 {
    if linear <= 0.003_130_8 {
        12.92 * linear
    } else {
        1.055 * linear.powf(1.0 / 2.4) - 0.055
    }
}

/// The prepared conversion: tables in, one matrix, table out.
struct Transform {
    linear: [[f32; 256]; 3],
    matrix: [[f32; 3]; 3],
    encode: Vec<u8>,
}

impl Transform {
    fn new(profile: &MatrixShaper) -> Option<Transform> {
        let to_srgb = multiply(
            &invert(&from_columns(&SRGB_COLORANTS))?,
            &from_columns(&profile.colorants),
        );
        let mut linear = [[0f32; 256]; 3];
        for (table, curve) in linear.iter_mut().zip(&profile.curves) {
            for (v, out) in table.iter_mut().enumerate() {
                *out = curve.eval(v as f64 / 255.0) as f32;
            }
        }
        let mut matrix = [[0f32; 3]; 3];
        for (r, row) in matrix.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = to_srgb[r][c] as f32;
                if !v.is_finite() {
                    return None;
                }
            }
        }
        let encode = (0..OUT_STEPS)
            .map(|i| {
                let l = i as f64 / (OUT_STEPS - 1) as f64;
                (srgb_encode(l) * 255.0).round().clamp(0.0, 255.0) as u8
            })
            .collect();
        Some(Transform {
            linear,
            matrix,
            encode,
        })
    }

    fn apply(&self, pixels: &mut [u8]) {
        let steps = (OUT_STEPS - 1) as f32;
        let out = |v: f32| -> u8 {
            let i = (v.clamp(0.0, 1.0) * steps + 0.5) as usize;
            self.encode[i.min(OUT_STEPS - 1)]
        };
        let m = &self.matrix;
        for px in pixels.chunks_exact_mut(3) {
            let r = self.linear[0][usize::from(px[0])];
            let g = self.linear[1][usize::from(px[1])];
            let b = self.linear[2][usize::from(px[2])];
            px[0] = out(m[0][0] * r + m[0][1] * g + m[0][2] * b);
            px[1] = out(m[1][0] * r + m[1][1] * g + m[1][2] * b);
            px[2] = out(m[2][0] * r + m[2][1] * g + m[2][2] * b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moxcms::{ColorProfile, Layout, TransformOptions};

    fn raster(pixels: Vec<u8>) -> Raster {
        Raster {
            width: (pixels.len() / 3) as u32,
            height: 1,
            channels: 3,
            pixels,
        }
    }

    #[test]
    fn converts_display_p3_and_leaves_srgb_alone() {
        let p3 = ColorProfile::new_display_p3().encode().unwrap();
        let srgb = ColorProfile::new_srgb().encode().unwrap();
        let mut img = raster(vec![20, 200, 20]);
        assert!(to_srgb(&mut img, Some(&p3)));
        // P3 green is more saturated than sRGB can show: green stays high, red goes to 0.
        assert!(
            img.pixels[0] < 10 && img.pixels[1] > 200,
            "{:?}",
            img.pixels
        );

        let mut img = raster(vec![20, 200, 20]);
        assert!(!to_srgb(&mut img, Some(&srgb)));
        assert_eq!(img.pixels, vec![20, 200, 20]);
        assert!(!to_srgb(&mut img, Some(b"not a profile")));
        assert!(!to_srgb(&mut img, None));
    }

    /// Against a full CMS (moxcms, a test-only dependency): the same colours within two code
    /// values, over a grid of the whole RGB cube, for Display P3 and Adobe RGB.
    #[test]
    fn matches_a_full_cms_for_the_profiles_cameras_embed() {
        let mut cube = Vec::new();
        for r in (0..=255u8).step_by(15) {
            for g in (0..=255u8).step_by(15) {
                for b in (0..=255u8).step_by(15) {
                    cube.extend([r, g, b]);
                }
            }
        }
        let srgb = ColorProfile::new_srgb();
        for (name, profile) in [
            ("display p3", ColorProfile::new_display_p3()),
            ("adobe rgb", ColorProfile::new_adobe_rgb()),
        ] {
            let reference = profile
                .create_transform_8bit(Layout::Rgb, &srgb, Layout::Rgb, TransformOptions::default())
                .unwrap();
            let mut expected = vec![0u8; cube.len()];
            reference.transform(&cube, &mut expected).unwrap();
            let mut img = raster(cube.clone());
            assert!(
                to_srgb(&mut img, Some(&profile.encode().unwrap())),
                "{name}"
            );
            let worst = img
                .pixels
                .iter()
                .zip(&expected)
                .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
                .max()
                .unwrap();
            assert!(worst <= 2, "{name}: off by {worst}");
        }
    }

    #[test]
    fn truncated_or_hostile_profiles_are_ignored_without_panicking() {
        let p3 = ColorProfile::new_display_p3().encode().unwrap();
        for len in (0..p3.len()).step_by(7) {
            let mut img = raster(vec![20, 200, 20]);
            let _ = to_srgb(&mut img, Some(&p3[..len]));
        }
        let mut huge_count = p3.clone();
        huge_count[128..132].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(!to_srgb(&mut raster(vec![1, 2, 3]), Some(&huge_count)));
    }
}

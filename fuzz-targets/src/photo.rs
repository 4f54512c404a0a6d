//! Photo decoding: the device pipeline (`process_file`, `read_metadata`) on arbitrary files, and
//! the server's upload check (`verify_jpeg`).

use std::cell::RefCell;
use std::path::Path;

use gridline_core::photo::{self, PhotoOptions};

thread_local! {
    static DIR: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

/// Runs `f` with a per-thread scratch folder that is emptied afterwards.
fn with_scratch(f: impl FnOnce(&Path)) {
    DIR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(tempfile::tempdir().expect("a scratch folder for the photo target"));
        }
        let dir = d.as_ref().map(|t| t.path().to_path_buf());
        if let Some(dir) = dir {
            f(&dir);
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for e in entries.flatten() {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    });
}

/// `read_metadata` and `process_file` on `data` written to a file (JPEG, PNG or anything); what
/// the pipeline produces must pass the server's `verify_jpeg`, at the size it reports.
pub fn process(data: &[u8]) {
    let opts = PhotoOptions::default();
    with_scratch(|dir| {
        let input = dir.join("input");
        std::fs::write(&input, data).expect("write the input");
        let out = dir.join("out");
        std::fs::create_dir_all(&out).expect("create the output folder");
        if let Ok(meta) = photo::read_metadata(&input, &opts) {
            assert!(meta.width > 0 && meta.height > 0, "metadata: {meta:?}");
        }
        if let Ok(done) = photo::process_file(&input, &out, &opts) {
            for (image, edge) in [
                (&done.photo, opts.max_edge),
                (&done.thumbnail, opts.thumb_edge),
            ] {
                assert!(image.width.max(image.height) <= edge.max(1), "{image:?}");
                let bytes = std::fs::read(&image.path).expect("read the output");
                assert_eq!(bytes.len() as u64, image.bytes);
                let (w, h) = photo::verify_jpeg(&bytes, &opts)
                    .unwrap_or_else(|e| panic!("the server refuses the pipeline's JPEG: {e}"));
                assert_eq!((w, h), (image.width, image.height));
            }
            let _ = std::fs::remove_dir_all(&out);
        }
    });
}

/// `verify_jpeg`, as the server runs it on an uploaded photo.
pub fn verify(data: &[u8]) {
    let opts = PhotoOptions::default();
    if let Ok((w, h)) = photo::verify_jpeg(data, &opts) {
        assert!(w > 0 && h > 0);
        assert!(u64::from(w) * u64::from(h) <= opts.max_pixels);
    }
}

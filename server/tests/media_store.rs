//! The media-store contract, on the local folder and — when `GRIDLINE_TEST_MEDIA` names one —
//! on the S3-compatible bucket: pieces append only at the held offset, uploads are per account,
//! verification keeps only bytes that are the named JPEG, and a photo is created only once.

use std::sync::Arc;

use bytes::Bytes;
use gridline_core::photo::fixtures;
use gridline_server::config::MediaLocation;
use gridline_server::media::{Finished, MediaStore};
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn stores(dir: &std::path::Path) -> Vec<Arc<dyn MediaStore>> {
    let mut out: Vec<Arc<dyn MediaStore>> = vec![Arc::new(
        gridline_server::media::MediaDir::open(dir.join("media")).unwrap(),
    )];
    let storage = gridline_server::testing::storage(dir);
    if let MediaLocation::S3(_) = storage.media {
        out.push(gridline_server::backends::open_media(&storage).unwrap());
    }
    out
}

#[tokio::test]
async fn every_media_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixtures::jpeg(&fixtures::quadrants(32, 32), 32, 32, &Default::default());
    let name = sha(&good);
    for media in stores(dir.path()) {
        let which = media.backend();
        media.ping().await.unwrap();
        assert_eq!(media.partial_len(1, &name).await.unwrap(), 0, "{which}");
        let (head, tail) = good.split_at(good.len() / 2);
        media
            .append(1, &name, 0, Bytes::copy_from_slice(head))
            .await
            .unwrap();
        assert_eq!(
            media.partial_len(1, &name).await.unwrap(),
            head.len() as u64
        );
        assert_eq!(
            media.partial_len(2, &name).await.unwrap(),
            0,
            "{which}: per account"
        );
        assert!(
            media
                .append(1, &name, 0, Bytes::from_static(b"x"))
                .await
                .is_err(),
            "{which}: a second writer of the same offset fails instead of clobbering"
        );
        assert_eq!(
            media.partials().await.unwrap(),
            vec![(1, name.clone())],
            "{which}"
        );
        media
            .append(1, &name, head.len() as u64, Bytes::copy_from_slice(tail))
            .await
            .unwrap();
        assert_eq!(
            media.partial_len(1, &name).await.unwrap(),
            good.len() as u64
        );
        assert!(
            matches!(media.finish(1, &name).await.unwrap(), Finished::Verified(_)),
            "{which}"
        );
        assert_eq!(media.read(&name).await.unwrap().unwrap(), good, "{which}");
        assert_eq!(media.partial_len(1, &name).await.unwrap(), 0, "{which}");
        assert!(media.partials().await.unwrap().is_empty(), "{which}");
        assert_eq!(media.photos().await.unwrap(), vec![name.clone()], "{which}");

        // A second account proving the same bytes changes nothing stored.
        media
            .append(2, &name, 0, good.clone().into())
            .await
            .unwrap();
        assert!(matches!(
            media.finish(2, &name).await.unwrap(),
            Finished::Verified(_)
        ));
        assert_eq!(media.read(&name).await.unwrap().unwrap(), good);

        let liar = "0".repeat(64);
        media
            .append(1, &liar, 0, good.clone().into())
            .await
            .unwrap();
        assert_eq!(
            media.finish(1, &liar).await.unwrap(),
            Finished::HashMismatch
        );
        assert!(media.read(&liar).await.unwrap().is_none(), "{which}");
        assert_eq!(media.partial_len(1, &liar).await.unwrap(), 0, "{which}");

        let junk = b"named after its own hash, but no photo";
        let junk_name = sha(junk);
        media
            .append(1, &junk_name, 0, Bytes::from_static(junk))
            .await
            .unwrap();
        assert!(matches!(
            media.finish(1, &junk_name).await.unwrap(),
            Finished::NotAPhoto(_)
        ));
        assert!(media.read(&junk_name).await.unwrap().is_none(), "{which}");

        media
            .append(3, &name, 0, Bytes::from_static(b"ab"))
            .await
            .unwrap();
        media.discard_partial(3, &name).await.unwrap();
        assert_eq!(media.partial_len(3, &name).await.unwrap(), 0, "{which}");
        assert!(media.read(&"f".repeat(64)).await.unwrap().is_none());
    }
}

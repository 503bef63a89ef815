//! Input walking: directories, compressed files, archives, nesting and bomb caps.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rampart_core::{DeadLetter, Format, Ingested};
use rampart_ingest::{
    Delivery, IngestError, Limits, ReadOptions, read_all, read_bytes_all, read_inputs,
};

const EVE: &str = r#"{"timestamp":"2018-03-24T14:37:19.037299-0600","event_type":"alert","src_ip":"10.0.0.1","src_port":1,"dest_ip":"10.0.0.2","dest_port":22,"proto":"TCP","alert":{"signature_id":1,"signature":"x","category":"y","severity":2}}"#;

fn eve_lines(n: usize) -> String {
    format!("{EVE}\n").repeat(n)
}

fn zip_bytes(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn tar_gz(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, *bytes).unwrap();
    }
    gzip(&builder.into_inner().unwrap())
}

fn sources(read: &[Ingested]) -> Vec<String> {
    let mut out: Vec<String> = read
        .iter()
        .map(|item| match item {
            Ingested::Event(event) => event.provenance.source.clone(),
            Ingested::Intel(intel) => intel.provenance.source.clone(),
            Ingested::DeadLetter(letter) => {
                format!("DEAD {} {}", letter.provenance.source, letter.reason)
            }
        })
        .collect();
    out.dedup();
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn directories_are_walked_sorted_with_canonical_names_and_metadata_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b/eve.json", eve_lines(2).as_bytes());
    write(dir.path(), "a/eve.json", eve_lines(1).as_bytes());
    write(dir.path(), ".hidden/eve.json", eve_lines(1).as_bytes());
    write(dir.path(), "__MACOSX/a/._eve.json", b"\x00\x05\x16\x07junk");
    write(dir.path(), "a/empty.json", b"");
    let relative = dir.path().join("b/../a/..");
    let read = read_all(&[relative], &ReadOptions::default()).unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(
        sources(&read),
        [
            format!("{}/a/eve.json", root.display()),
            format!("{}/b/eve.json", root.display())
        ]
    );
    assert_eq!(read.len(), 3);
}

#[test]
fn missing_paths_fail_before_reading() {
    let err = read_all(
        &[PathBuf::from("/definitely/not/here.json")],
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, IngestError::MissingInput { .. }));
    assert!(
        err.to_string().contains("`/definitely/not/here.json`"),
        "{err}"
    );
}

#[test]
fn gzip_zip_and_tar_gz_are_read_transparently_and_nested() {
    let dir = tempfile::tempdir().unwrap();
    let inner = zip_bytes(&[("deep/eve.json", eve_lines(1).as_bytes())]);
    let outer = zip_bytes(&[
        ("eve.json", eve_lines(2).as_bytes()),
        ("__MACOSX/._eve.json", b"\x00\x05\x16\x07"),
        ("inner.zip", &inner),
        ("eve.json.gz", &gzip(eve_lines(1).as_bytes())),
    ]);
    let zip_path = write(dir.path(), "x.zip", &outer);
    write(dir.path(), "y.json.gz", &gzip(eve_lines(3).as_bytes()));
    write(
        dir.path(),
        "z.tar.gz",
        &tar_gz(&[
            ("logs/eve.json", eve_lines(1).as_bytes()),
            ("logs/._eve.json", b"junk"),
        ]),
    );
    let read = read_all(&[dir.path().to_path_buf()], &ReadOptions::default()).unwrap();
    let zip_name = std::fs::canonicalize(&zip_path)
        .unwrap()
        .display()
        .to_string();
    let root = std::fs::canonicalize(dir.path())
        .unwrap()
        .display()
        .to_string();
    assert_eq!(
        sources(&read),
        [
            format!("{zip_name}!eve.json"),
            format!("{zip_name}!inner.zip!deep/eve.json"),
            format!("{zip_name}!eve.json.gz"),
            format!("{root}/y.json.gz"),
            format!("{root}/z.tar.gz!logs/eve.json"),
        ]
    );
    assert_eq!(read.len(), 8);
    assert!(read.iter().all(|item| matches!(item, Ingested::Event(_))));
}

fn dead_letters(read: &[Ingested]) -> Vec<&DeadLetter> {
    read.iter()
        .filter_map(|item| match item {
            Ingested::DeadLetter(letter) => Some(letter.as_ref()),
            _ => None,
        })
        .collect()
}

#[test]
fn zip_bomb_member_is_unreadable_and_its_neighbours_are_read() {
    let zeros = vec![b'0'; 20 << 20];
    let archive = zip_bytes(&[
        ("a.json", eve_lines(1).as_bytes()),
        ("bomb.json", &zeros),
        ("c.json", eve_lines(1).as_bytes()),
    ]);
    let read = read_bytes_all("/in/bomb.zip", &archive, &ReadOptions::default());
    assert_eq!(read.len(), 3, "{:?}", sources(&read));
    let dead = dead_letters(&read);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].provenance.source, "/in/bomb.zip!bomb.json");
    assert!(
        dead[0].reason.contains("decompression bomb"),
        "{}",
        dead[0].reason
    );
    assert!(
        dead[0].reason.contains("max_compression_ratio"),
        "{}",
        dead[0].reason
    );
}

#[test]
fn total_expansion_and_member_count_are_capped() {
    let member = eve_lines(50);
    let archive = zip_bytes(&[
        ("a.json", member.as_bytes()),
        ("b.json", member.as_bytes()),
        ("c.json", member.as_bytes()),
    ]);
    let limits = Limits {
        max_archive_bytes: (member.len() * 2) as u64,
        ..Limits::default()
    };
    let options = ReadOptions {
        format: None,
        limits,
    };
    let read = read_bytes_all("/in/big.zip", &archive, &options);
    let dead = dead_letters(&read);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].provenance.source, "/in/big.zip!c.json");
    assert!(
        dead[0].reason.contains("max_archive_bytes"),
        "{}",
        dead[0].reason
    );

    let options = ReadOptions {
        format: None,
        limits: Limits {
            max_archive_members: 2,
            ..Limits::default()
        },
    };
    let read = read_bytes_all("/in/many.zip", &archive, &options);
    assert_eq!(read.len(), 1);
    assert!(
        dead_letters(&read)[0]
            .reason
            .contains("max_archive_members")
    );
}

#[test]
fn gzip_bomb_stops_at_the_ratio_cap() {
    // Repeated records compress far beyond the default ratio of 200: the stream is cut off
    // once past the grace megabyte, the records before the cut are kept.
    let padding = "A".repeat(100_000);
    let line = format!("{{\"event_type\":\"flow\",\"padding\":\"{padding}\"}}\n");
    let bomb = gzip(line.repeat(300).as_bytes());
    let read = read_bytes_all("/in/bomb.json.gz", &bomb, &ReadOptions::default());
    let dead = dead_letters(&read);
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].reason.contains("decompression bomb"),
        "{}",
        dead[0].reason
    );
    assert!(read.len() > 10 && read.len() < 300, "{}", read.len());
}

#[test]
fn unsupported_and_corrupt_inputs_are_unreadable_dead_letters() {
    let auditd = b"type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59\n";
    let read = read_bytes_all("/in/audit.log", auditd, &ReadOptions::default());
    let dead = dead_letters(&read);
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].reason.starts_with("unsupported format"),
        "{}",
        dead[0].reason
    );
    assert_eq!(dead[0].provenance.format, None);

    let mut truncated = gzip(eve_lines(100).as_bytes());
    truncated.truncate(truncated.len() / 2);
    let read = read_bytes_all("/in/cut.json.gz", &truncated, &ReadOptions::default());
    assert!(!dead_letters(&read).is_empty());

    let read = read_bytes_all(
        "/in/broken.zip",
        b"PK\x03\x04 not really a zip",
        &ReadOptions::default(),
    );
    assert!(
        dead_letters(&read)[0].reason.contains("zip"),
        "{:?}",
        sources(&read)
    );
}

#[test]
fn format_override_skips_detection() {
    let options = ReadOptions {
        format: Some(Format::SuricataEve),
        limits: Limits::default(),
    };
    let read = read_bytes_all("/in/odd.txt", br#"{"event_type":"flow"}"#, &options);
    assert!(matches!(&read[..], [Ingested::Event(_)]));
}

#[test]
fn reports_count_records_and_unreadable_inputs() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "eve.json", eve_lines(3).as_bytes());
    write(dir.path(), "notes.txt", b"just some notes\n");
    let mut batches = 0;
    let report = read_inputs(
        &[dir.path().to_path_buf()],
        &ReadOptions::default(),
        &mut |delivery| {
            if matches!(delivery, Delivery::Batch(_)) {
                batches += 1;
            }
        },
    )
    .unwrap();
    assert_eq!(
        (report.sources, report.records, report.unreadable, batches),
        (2, 3, 1, 1)
    );
    assert_eq!(report.by_format.get(&Format::SuricataEve), Some(&3));
}

#[test]
fn fifty_megabyte_line_is_one_dead_letter_and_the_lines_after_it_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eve.json");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        file.write_all(eve_lines(1).as_bytes()).unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..50 {
            file.write_all(&chunk).unwrap();
        }
        file.write_all(b"\n").unwrap();
        file.write_all(eve_lines(2).as_bytes()).unwrap();
    }
    let read = read_all(&[path], &ReadOptions::default()).unwrap();
    assert_eq!(read.len(), 4);
    let dead = dead_letters(&read);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].provenance.position, rampart_core::Position::Line(2));
    assert!(
        dead[0].reason.contains("52428800 bytes"),
        "{}",
        dead[0].reason
    );
    assert!(dead[0].raw.len() <= DeadLetter::RAW_CAP);
    assert!(matches!(read[2], Ingested::Event(_)) && matches!(read[3], Ingested::Event(_)));
}

//! Robustness of the readers: whatever bytes arrive, the result is a table or a clear error — never a panic —
//! and the importer then never panics on the table either.

use mamori_model::import::{HeaderMapping, plan};
use mamori_model::ledger::{Account, Device};
use mamori_tabular::{ReadOptions, read_bytes, write_csv, write_xlsx};

fn mutate(rng: &mut fastrand::Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..rng.usize(1..8) {
        if b.is_empty() {
            b.push(rng.u8(..));
            continue;
        }
        let i = rng.usize(..b.len());
        match rng.u8(0..4) {
            0 => b[i] = rng.u8(..),
            1 => b.insert(i, *[b',', b'"', b'\n', b'\r', 0x82, 0xE3, 0x00].get(rng.usize(..7)).unwrap()),
            2 => {
                b.remove(i);
            }
            _ => b.truncate(i),
        }
    }
    b
}

#[test]
fn random_and_mutated_inputs_never_panic() {
    let csv = "管理番号,メーカー,登録日,状態,IPアドレス\r\n001,A社,R5.4.1,稼働,10.0.0.1\r\n\"002\",\"B社\n改行\",2023/2/30,停止,x\r\n".as_bytes().to_vec();
    let xlsx = write_xlsx("s", &["管理番号", "ユーザID"], &[vec!["1".into(), "u1".into()]]).unwrap();
    let sjis =
        write_csv(&["管理番号", "メーカー"], &[vec!["1".into(), "富士通".into()]], mamori_tabular::CsvFlavor::Cp932)
            .unwrap();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut outcomes = [0usize; 2];
    for i in 0..6000 {
        let (seed, name) = match i % 3 {
            0 => (&csv, "f.csv"),
            1 => (&sjis, "f.csv"),
            _ => (&xlsx, "f.xlsx"),
        };
        let input =
            if i % 10 == 0 { (0..rng.usize(0..200)).map(|_| rng.u8(..)).collect() } else { mutate(&mut rng, seed) };
        match read_bytes(&input, name, &ReadOptions::default()) {
            Ok(t) => {
                outcomes[0] += 1;
                let _ = plan::<Device>(t.clone(), &HeaderMapping::default());
                let _ = plan::<Account>(t, &HeaderMapping::default());
            }
            Err(e) => {
                outcomes[1] += 1;
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(outcomes[0] > 100 && outcomes[1] > 100, "both paths exercised: {outcomes:?}");
}

/// A quoted cell with a line break: the rows after it keep their true line numbers.
#[test]
fn line_numbers_survive_multiline_cells() {
    let csv = "管理番号,説明\r\n1,\"二行の\r\n説明\"\r\n2,x\r\n";
    let t = read_bytes(csv.as_bytes(), "m.csv", &ReadOptions::default()).unwrap();
    let lines: Vec<usize> = t.rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![1, 2, 4]);
}

//! Gossiped membership in the simulator: nodes learn each other through
//! the protocol after joining through three seeds, and the simulator
//! follows every node's view from its membership events.

use gossip_core::Config;
use gossip_sim::{Study, StudyFault, StudyReport};

/// 40 nodes join through three seeds; two of them crash at period 200;
/// the run lasts `periods`.
fn two_of_forty_crash(periods: u32) -> StudyReport {
    let mut study = Study::join(40, Config::lan(), periods, 3);
    study.fault = StudyFault::Crash { fraction: 0.05 };
    study.fault_at = 200;
    study.run().unwrap()
}

/// The view tracker follows joins, a crash and its detection on a small
/// cluster.
#[test]
fn views_follow_joins_and_a_crash() {
    let report = two_of_forty_crash(400);
    assert!(report.all_complete.is_some_and(|r| r <= 200), "{report:?}");
    assert_eq!((report.crashed, report.live), (2, 38));
    assert_eq!(report.detected, 2, "{report:?}");
    assert_eq!(report.removed, 2, "{report:?}");
    assert_eq!((report.still_believed, report.still_suspected), (0, 0), "{report:?}");
    assert_eq!(report.complete_at_end, 38, "{report:?}");
    assert!(report.membership_bytes_per_node_period > 0.0);
}

/// A run that ends while the suspicions of two crashed members are still
/// running counts the views that believe them up, and among these the ones
/// that suspect them.
#[test]
fn views_still_believing_a_crashed_member_are_counted() {
    let report = two_of_forty_crash(240);
    assert_eq!((report.crashed, report.detected, report.removed), (2, 2, 0), "{report:?}");
    // Every live view still holds both (the suspicion lasts at least 64
    // periods at N = 40), and by now most of them suspect them.
    assert_eq!(report.still_believed, 2 * 38, "{report:?}");
    assert!(report.still_suspected > 38 && report.still_suspected <= 2 * 38, "{report:?}");
}

/// Issue 12's CI figure: 1,000 nodes joining through three seeds in bulk
/// reach complete views, with no false death in the idle periods after.
/// (Complete after about 150 periods; the run costs about 0.1 s of CPU
/// per period in release, almost all of it in gossip-core's membership.)
#[test]
fn a_thousand_nodes_joining_through_three_seeds_reach_complete_views() {
    let report = Study::join(1_000, Config::lan(), 200, 11).run().unwrap();
    assert!(report.all_complete.is_some(), "{report:?}");
    assert_eq!(report.complete_at_end, 1_000, "{report:?}");
    assert_eq!(report.false_deaths, 0, "{report:?}");
}

//! [`Profiles`]: members' groups and metadata, interned per node. Most
//! members of a cluster share one profile (the same groups, empty
//! metadata), so an entry holds one shared pointer instead of its own
//! copies, and a table of 10^4 members holds a handful of profiles.

use std::sync::Arc;

use bytes::Bytes;

use super::Set;
use crate::ids::GroupId;

/// One member's groups (sorted, deduplicated) and metadata.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Profile {
    pub(crate) groups: Box<[GroupId]>,
    pub(crate) meta: Bytes,
}

/// The distinct profiles of the members one node knows. Bounded by the
/// member table: a profile lives while some entry points at it.
#[derive(Debug)]
pub(crate) struct Profiles {
    set: Set<Arc<Profile>>,
    empty: Arc<Profile>,
    /// The profile interned last, checked first: most members share one,
    /// and a bulk join interns about one per entry received.
    last: Option<Arc<Profile>>,
    /// Heap bytes of the profiles' group lists and metadata.
    content_bytes: usize,
}

impl Default for Profiles {
    fn default() -> Self {
        Profiles {
            set: Set::default(),
            empty: Arc::new(Profile { groups: Box::new([]), meta: Bytes::new() }),
            last: None,
            content_bytes: 0,
        }
    }
}

impl Profiles {
    /// The profile of no groups and no metadata (never counted in `len`).
    pub(crate) fn empty(&self) -> Arc<Profile> {
        self.empty.clone()
    }

    /// The shared profile equal to `groups` and `meta`, added if new.
    pub(crate) fn intern(&mut self, groups: &[GroupId], meta: &Bytes) -> Arc<Profile> {
        if groups.is_empty() && meta.is_empty() {
            return self.empty();
        }
        if let Some(last) = self.last.as_ref().filter(|p| *p.groups == *groups && same_bytes(&p.meta, meta)) {
            return last.clone();
        }
        let probe = Profile { groups: groups.into(), meta: meta.clone() };
        if let Some(shared) = self.set.get(&probe) {
            self.last = Some(shared.clone());
            return shared.clone();
        }
        // Copy the metadata out of the datagram it was decoded from, so a
        // profile never pins a whole packet.
        let meta = Bytes::copy_from_slice(meta);
        self.content_bytes = self.content_bytes.saturating_add(groups.len() * 4 + meta.len());
        let shared = Arc::new(Profile { groups: probe.groups, meta });
        self.set.insert(shared.clone());
        self.last = Some(shared.clone());
        shared
    }

    /// An entry stopped pointing at `profile`: drop it once nothing else does.
    pub(crate) fn release(&mut self, profile: Arc<Profile>) {
        // One reference in the set, one here, and one in `last` if it is
        // that profile.
        let last = self.last.as_ref().is_some_and(|l| Arc::ptr_eq(l, &profile));
        if Arc::strong_count(&profile) == 2 + usize::from(last) && self.set.remove(&*profile) {
            if last {
                self.last = None;
            }
            let bytes = profile.groups.len() * 4 + profile.meta.len();
            self.content_bytes = self.content_bytes.saturating_sub(bytes);
        }
    }

    /// Distinct profiles held (the empty one aside).
    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }

    /// Heap bytes held: the set's buckets, each profile's allocation and
    /// its contents.
    pub(crate) fn heap_bytes(&self) -> usize {
        let per = size_of::<Arc<Profile>>() + 1;
        let node = size_of::<Profile>() + 2 * size_of::<usize>();
        self.set.capacity() * per + self.set.len() * node + self.content_bytes
    }
}

/// Whether `a` and `b` hold the same bytes, without calling `memcmp` when
/// both are empty: an empty `Bytes` points at a dangling address, and glibc's
/// AVX-512 `memcmp` reads it with a masked load whose fault suppression
/// costs a microcode assist (most of a bulk join's CPU went there, since
/// members' metadata is usually empty).
pub(crate) fn same_bytes(a: &Bytes, b: &Bytes) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_profiles_are_shared_and_dropped_with_their_last_entry() {
        let mut p = Profiles::default();
        let groups = [GroupId(1), GroupId(2)];
        let a = p.intern(&groups, &Bytes::new());
        let b = p.intern(&groups, &Bytes::new());
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(p.len(), 1);
        assert!(Arc::ptr_eq(&p.intern(&[], &Bytes::new()), &p.empty()));
        p.release(a);
        assert_eq!(p.len(), 1, "still used by b");
        p.release(b);
        assert_eq!((p.len(), p.content_bytes), (0, 0));
    }

    #[test]
    fn the_last_profile_cached_never_keeps_a_released_one_alive() {
        let mut p = Profiles::default();
        let (one, two) = ([GroupId(1)], [GroupId(2)]);
        let a = p.intern(&one, &Bytes::new());
        let b = p.intern(&two, &Bytes::new());
        let c = p.intern(&one, &Bytes::from_static(b"m"));
        assert!(Arc::ptr_eq(&p.intern(&one, &Bytes::new()), &a), "found in the set, not only as the last");
        assert_eq!(p.len(), 3);
        for profile in [a.clone(), a, b, c] {
            p.release(profile);
        }
        assert_eq!((p.len(), p.content_bytes, p.last.is_none()), (0, 0, true));
    }
}

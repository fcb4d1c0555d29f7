//! [`Profiles`]: members' groups and metadata, interned per node. Most
//! members of a cluster share one profile (the same groups, empty
//! metadata), so an entry holds a 4-byte [`ProfileId`] instead of its own
//! copies, and a table of 10^4 members holds a handful of profiles.

use std::hash::BuildHasher;

use bytes::Bytes;
use hashbrown::HashTable;

use super::RandomState;
use crate::ids::GroupId;

/// One member's groups (sorted, deduplicated) and metadata.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Profile {
    pub(crate) groups: Box<[GroupId]>,
    pub(crate) meta: Bytes,
}

/// A profile held by [`Profiles`]: its index there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProfileId(u32);

/// The profile of no groups and no metadata: always held, never counted.
const EMPTY: ProfileId = ProfileId(0);

/// A profile and the number of entries using it (0 for a free place).
#[derive(Debug, Default)]
struct Held {
    profile: Profile,
    users: u32,
}

/// The distinct profiles of the members one node knows. Bounded by the
/// member table: each entry counts as one user of its profile, and a
/// profile is dropped with its last user.
#[derive(Debug)]
pub(crate) struct Profiles {
    /// Indexed by [`ProfileId`]; place 0 is the empty profile.
    held: Vec<Held>,
    /// Places of dropped profiles, for reuse.
    free: Vec<u32>,
    hasher: RandomState,
    /// The held profiles (the empty one aside), found by content.
    by_content: HashTable<u32>,
    /// The profile interned last, checked first: most members share one,
    /// and a bulk join interns about one per entry received.
    last: ProfileId,
    /// Heap bytes of the profiles' group lists and metadata.
    content_bytes: usize,
}

impl Default for Profiles {
    fn default() -> Self {
        Profiles {
            held: vec![Held::default()],
            free: Vec::new(),
            hasher: RandomState::default(),
            by_content: HashTable::new(),
            last: EMPTY,
            content_bytes: 0,
        }
    }
}

impl Profiles {
    /// The profile behind `id` (the empty one if `id` was released).
    pub(crate) fn get(&self, id: ProfileId) -> &Profile {
        self.held.get(id.0 as usize).map_or(&self.held[0].profile, |h| &h.profile)
    }

    fn hash(&self, groups: &[GroupId], meta: &[u8]) -> u64 {
        self.hasher.hash_one((groups, meta))
    }

    fn holds(&self, id: ProfileId, groups: &[GroupId], meta: &Bytes) -> bool {
        let held = &self.held[id.0 as usize];
        held.users > 0 && *held.profile.groups == *groups && same_bytes(&held.profile.meta, meta)
    }

    fn add_user(&mut self, id: ProfileId) -> ProfileId {
        let held = &mut self.held[id.0 as usize];
        held.users = held.users.saturating_add(1);
        self.last = id;
        id
    }

    /// One more user of the profile equal to `groups` and `meta`, added if
    /// new: each call is matched by one [`release`](Self::release).
    pub(crate) fn intern(&mut self, groups: &[GroupId], meta: &Bytes) -> ProfileId {
        if groups.is_empty() && meta.is_empty() {
            return EMPTY;
        }
        if self.last != EMPTY && self.holds(self.last, groups, meta) {
            return self.add_user(self.last);
        }
        let hash = self.hash(groups, meta);
        let found = self.by_content.find(hash, |&i| self.holds(ProfileId(i), groups, meta)).copied();
        if let Some(found) = found {
            return self.add_user(ProfileId(found));
        }
        // Copy the metadata out of the datagram it was decoded from, so a
        // profile never pins a whole packet.
        let profile = Profile { groups: groups.into(), meta: Bytes::copy_from_slice(meta) };
        self.content_bytes = self.content_bytes.saturating_add(groups.len() * 4 + meta.len());
        let place = match self.free.pop() {
            Some(place) => {
                self.held[place as usize].profile = profile;
                place
            }
            None => {
                self.held.push(Held { profile, users: 0 });
                (self.held.len() - 1) as u32
            }
        };
        let (held, hasher) = (&self.held, &self.hasher);
        let rehash = |&i: &u32| {
            let p = &held[i as usize].profile;
            hasher.hash_one((&*p.groups, &p.meta[..]))
        };
        self.by_content.insert_unique(hash, place, rehash);
        self.add_user(ProfileId(place))
    }

    /// One user of `id` fewer: the profile is dropped with its last user.
    pub(crate) fn release(&mut self, id: ProfileId) {
        let Some(held) = self.held.get_mut(id.0 as usize).filter(|_| id != EMPTY) else { return };
        held.users = held.users.saturating_sub(1);
        if held.users > 0 {
            return;
        }
        let profile = std::mem::take(&mut held.profile);
        let hash = self.hash(&profile.groups, &profile.meta);
        if let Ok(found) = self.by_content.find_entry(hash, |&i| i == id.0) {
            found.remove();
        }
        self.content_bytes = self.content_bytes.saturating_sub(profile.groups.len() * 4 + profile.meta.len());
        self.free.push(id.0);
        if self.last == id {
            self.last = EMPTY;
        }
    }

    /// Distinct profiles held (the empty one aside).
    pub(crate) fn len(&self) -> usize {
        self.by_content.len()
    }

    /// Heap bytes held: the places, the free list, the index and each
    /// profile's contents.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.held.capacity() * size_of::<Held>()
            + self.free.capacity() * 4
            + self.by_content.capacity() * (4 + 1)
            + self.content_bytes
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
    fn equal_profiles_are_shared_and_dropped_with_their_last_user() {
        let mut p = Profiles::default();
        let groups = [GroupId(1), GroupId(2)];
        let a = p.intern(&groups, &Bytes::new());
        let b = p.intern(&groups, &Bytes::new());
        assert_eq!(a, b);
        assert_eq!(p.len(), 1);
        assert_eq!(p.intern(&[], &Bytes::new()), EMPTY);
        p.release(a);
        assert_eq!(p.len(), 1, "still used by b");
        assert_eq!(*p.get(b).groups, groups);
        p.release(b);
        assert_eq!((p.len(), p.content_bytes), (0, 0));
    }

    #[test]
    fn a_released_profile_is_never_found_again_and_its_place_is_reused() {
        let mut p = Profiles::default();
        let (one, two) = ([GroupId(1)], [GroupId(2)]);
        let a = p.intern(&one, &Bytes::new());
        let b = p.intern(&two, &Bytes::new());
        let c = p.intern(&one, &Bytes::from_static(b"m"));
        assert_eq!(p.intern(&one, &Bytes::new()), a, "found by content, not only as the last");
        assert_eq!(p.len(), 3);
        for profile in [a, a, b, c] {
            p.release(profile);
        }
        assert_eq!((p.len(), p.content_bytes, p.last), (0, 0, EMPTY));
        let d = p.intern(&two, &Bytes::from_static(b"x"));
        assert!(p.held.len() == 4 && [a, b, c].contains(&d), "a free place is reused");
        assert_eq!((&*p.get(d).groups, &p.get(d).meta[..]), (&two[..], &b"x"[..]));
        assert_eq!(p.intern(&one, &Bytes::new()), p.intern(&one, &Bytes::new()));
        assert_eq!(p.len(), 2);
    }
}

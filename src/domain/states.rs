//! Nova's instance states and Neutron's port statuses. Each is spelled
//! exactly as Nova and Neutron spell it, the same on the wire, in the seed
//! format and on disk: the text *is* the format, so it is written once here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A state text that names no known state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} '{value}' is not one of {known}")]
pub struct UnknownState {
    pub kind: &'static str,
    pub value: String,
    /// The known values, comma separated.
    pub known: String,
}

/// An enum with one text per variant: `as_str`, `FromStr`, `Display` and
/// serde all use that text.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $name:ident ($kind:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value, in the order of the source they come from.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownState;

            fn from_str(text: &str) -> Result<Self, UnknownState> {
                match text {
                    $($text => Ok($name::$variant),)*
                    _ => Err(UnknownState {
                        kind: $kind,
                        value: text.to_owned(),
                        known: $name::ALL
                            .iter()
                            .map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                // Owned: JSON with escapes cannot lend a `&str`.
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

text_enum! {
    /// Nova's `vm_state` (`nova/compute/vm_states.py`).
    VmState("vm_state") {
        Active = "active",
        Building = "building",
        Paused = "paused",
        Suspended = "suspended",
        Stopped = "stopped",
        Rescued = "rescued",
        Resized = "resized",
        SoftDeleted = "soft-delete",
        Deleted = "deleted",
        Error = "error",
        Shelved = "shelved",
        ShelvedOffloaded = "shelved_offloaded",
    }
}

text_enum! {
    /// Nova's `task_state` (`nova/compute/task_states.py`, as listed by
    /// `InstanceTaskState` in `nova/objects/fields.py`); no task is `None`
    /// around it, never a value here.
    TaskState("task_state") {
        Scheduling = "scheduling",
        BlockDeviceMapping = "block_device_mapping",
        Networking = "networking",
        Spawning = "spawning",
        ImageSnapshot = "image_snapshot",
        ImageSnapshotPending = "image_snapshot_pending",
        ImagePendingUpload = "image_pending_upload",
        ImageUploading = "image_uploading",
        ImageBackup = "image_backup",
        UpdatingPassword = "updating_password",
        ResizePrep = "resize_prep",
        ResizeMigrating = "resize_migrating",
        ResizeMigrated = "resize_migrated",
        ResizeFinish = "resize_finish",
        ResizeReverting = "resize_reverting",
        ResizeConfirming = "resize_confirming",
        Rebooting = "rebooting",
        RebootPending = "reboot_pending",
        RebootStarted = "reboot_started",
        RebootingHard = "rebooting_hard",
        RebootPendingHard = "reboot_pending_hard",
        RebootStartedHard = "reboot_started_hard",
        Pausing = "pausing",
        Unpausing = "unpausing",
        Suspending = "suspending",
        Resuming = "resuming",
        PoweringOff = "powering-off",
        PoweringOn = "powering-on",
        Rescuing = "rescuing",
        Unrescuing = "unrescuing",
        Rebuilding = "rebuilding",
        RebuildBlockDeviceMapping = "rebuild_block_device_mapping",
        RebuildSpawning = "rebuild_spawning",
        Migrating = "migrating",
        Deleting = "deleting",
        SoftDeleting = "soft-deleting",
        Restoring = "restoring",
        Shelving = "shelving",
        ShelvingImagePendingUpload = "shelving_image_pending_upload",
        ShelvingImageUploading = "shelving_image_uploading",
        ShelvingOffloading = "shelving_offloading",
        Unshelving = "unshelving",
    }
}

text_enum! {
    /// Neutron's port `status`, which Nova reports as `port_state`.
    PortStatus("status") {
        Active = "ACTIVE",
        Down = "DOWN",
        Build = "BUILD",
        Error = "ERROR",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_round_trips() {
        for state in VmState::ALL {
            assert_eq!(state.as_str().parse::<VmState>(), Ok(*state));
            assert_eq!(
                serde_json::to_string(state).unwrap(),
                format!("\"{state}\"")
            );
        }
        for task in TaskState::ALL {
            assert_eq!(task.as_str().parse::<TaskState>(), Ok(*task));
        }
        for status in PortStatus::ALL {
            let json = serde_json::to_string(status).unwrap();
            assert_eq!(serde_json::from_str::<PortStatus>(&json).unwrap(), *status);
        }
        assert_eq!(VmState::ALL.len(), 12);
        assert_eq!(TaskState::ALL.len(), 42);
    }

    #[test]
    fn unknown_text_is_named() {
        assert_eq!(
            "Active".parse::<VmState>().unwrap_err().to_string(),
            "vm_state 'Active' is not one of active, building, paused, suspended, stopped, \
             rescued, resized, soft-delete, deleted, error, shelved, shelved_offloaded"
        );
        assert!("active".parse::<PortStatus>().is_err());
        assert!(serde_json::from_str::<TaskState>("\"warping\"").is_err());
    }
}

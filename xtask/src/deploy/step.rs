//! The steps of a deploy, numbered in one place: what the progress lines say and what
//! the deploy record names.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Preflight,
    Lock,
    Render,
    Upgrade,
    Rollout,
    Diagnosis,
    Smoke,
    Rollback,
    Record,
}

impl Step {
    pub const COUNT: u8 = 9;

    pub fn number(self) -> u8 {
        self as u8 + 1
    }

    /// The step's name in the deploy record.
    pub fn name(self) -> &'static str {
        match self {
            Self::Preflight => "preflight",
            Self::Lock => "lock",
            Self::Render => "render",
            Self::Upgrade => "helm upgrade",
            Self::Rollout => "rollout",
            Self::Diagnosis => "diagnosis",
            Self::Smoke => "smoke",
            Self::Rollback => "rollback",
            Self::Record => "record",
        }
    }

    /// Whether anything can have been applied once this step has started.
    pub fn may_have_applied(self) -> bool {
        self as u8 >= Self::Upgrade as u8
    }
}

#[cfg(test)]
mod tests {
    use super::Step;

    #[test]
    fn steps_are_numbered_in_order() {
        assert_eq!(
            (Step::Preflight.number(), Step::Record.number()),
            (1, Step::COUNT)
        );
        assert!(!Step::Render.may_have_applied() && Step::Upgrade.may_have_applied());
    }
}

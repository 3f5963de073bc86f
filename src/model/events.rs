//! Typed events: what happened, as data, serialised to the `kind` and `detail` columns of
//! `events.csv` in one place ([`Event::kind`], [`Event::detail`]).
//!
//! Why: a system that wrote `kind: "host_tighten"` and a `k=v; k=v` string spelled the contract of
//! `events.csv` (`docs/output-format.md`) in every file that logs an event; a misspelt key or a
//! changed number format would only show in a diff of the output. Here each event is a variant
//! with typed fields, the text is produced by one function, and the text is byte-identical to
//! what the systems wrote before (the fingerprints test, `tests/it/fingerprints.rs`, covers
//! `events.csv` of every shipped scenario). Every system, the investment core included
//! (proposals, approvals, rejections, permitting starts), logs typed events.

use std::fmt::Write as _;

use super::components::{AssetIdx, FirmIdx, MineralIdx, NationIdx, Status};
use super::resources::{EventRow, Registry};

/// A change of a host's terms by host politics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TermsChange {
    /// Local-processing mandate imposed.
    MandateOn,
    /// Local-processing mandate lifted.
    MandateOff,
    /// Ore export tax set to this rate.
    OreExportTax(f64),
}

/// Why a project was cancelled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CancelCause {
    /// The permitting or construction hazard struck.
    Hazard,
    /// Deferred longer than `investment.max_deferral_years` while finishing had negative value.
    NegativeValue {
        /// Value of finishing, USD.
        value_usd: f64,
    },
}

/// What kind of incident struck an asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncidentKind {
    /// A labour strike (weighs with weak labour enforcement).
    Strike,
    /// A community or environmental protest (weighs with weak environmental enforcement).
    Protest,
    /// An accident (weighs with a low ESG level).
    Accident,
}

impl IncidentKind {
    /// The text in `events.csv` (`type=…`).
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::Strike => "strike",
            IncidentKind::Protest => "protest",
            IncidentKind::Accident => "accident",
        }
    }
}

/// The terms of a state-finance package on a proposal (§7.3 instruments).
#[derive(Clone, Debug, PartialEq)]
pub struct FinanceTerms {
    /// The financiers of the package (a syndicate when more than one), by index, ascending (=
    /// id order).
    pub financiers: Vec<u32>,
    /// What the package costs the financiers, USD.
    pub cost_usd: f64,
    /// Concessional loan, USD.
    pub loan_usd: f64,
    /// Grant, USD.
    pub grant_usd: f64,
    /// Equity share taken.
    pub equity_share: f64,
    /// Price floor, USD/t (0 = none).
    pub floor_usd_per_t: f64,
    /// Share of the country-risk premium insured.
    pub insurance_cover: f64,
}

/// The host's state company's share in an approved project.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StateShare {
    /// The host requires none (or the sponsor is the state company).
    None,
    /// The state company takes this share.
    Share(f64),
    /// The host requires a share but has no state company.
    Waived,
}

/// One event, typed.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A firm proposed a prospect (`proposal`).
    Proposal {
        /// The firm's NPV of the project (with its package), USD.
        npv_usd: f64,
        /// Capex after learning, USD.
        capex_usd: f64,
        /// The firm's discount rate, per year.
        discount_rate: f64,
        /// The state-finance package, if any.
        finance: Option<FinanceTerms>,
    },
    /// The host rejected a proposal (`rejection`).
    Rejection {
        /// Approval probability.
        p_approve: f64,
        /// The term that weighed most against it.
        reason: &'static str,
    },
    /// The host approved a proposal (`approval`).
    Approval {
        /// Approval probability.
        p_approve: f64,
        /// The state company's share.
        state_share: StateShare,
        /// The financiers (by index, ascending) and what they paid in all, USD, if financed.
        finance: Option<(Vec<u32>, f64)>,
    },
    /// A dated policy took effect (`policy_start`).
    PolicyStart {
        /// Policy index (its id is looked up in the registry when the row is written).
        policy: u32,
    },
    /// A dated policy lapsed (`policy_end`).
    PolicyEnd {
        /// Policy index.
        policy: u32,
    },
    /// A financier's annual budget changed (`finance_budget`).
    FinanceBudget {
        /// Financier index (sorted by id).
        financier: u32,
        /// New annual budget, USD.
        annual_budget_usd: f64,
        /// Previous annual budget, USD.
        was_usd: f64,
    },
    /// A host tightened its terms (`host_tighten`).
    HostTighten {
        /// What changed.
        change: TermsChange,
        /// The mineral lagging most.
        mineral: MineralIdx,
        /// Its domestic processing share.
        domestic_processing: f64,
        /// The host's target share.
        target: f64,
    },
    /// A host loosened its terms (`host_loosen`).
    HostLoosen {
        /// What changed.
        change: TermsChange,
        /// Years since the last approval or change of terms.
        years_without_approval: f64,
    },
    /// A project was cancelled (`cancellation`).
    Cancellation {
        /// Stage it was in.
        stage: Status,
        /// Why.
        cause: CancelCause,
    },
    /// A project was deferred (`deferral`).
    Deferral {
        /// Stage it is in.
        stage: Status,
        /// Value of finishing, USD.
        value_usd: f64,
    },
    /// A deferred project resumed (`resumption`).
    Resumption {
        /// Stage it is in.
        stage: Status,
        /// Steps it was deferred.
        deferred_steps: u32,
        /// Value of finishing, USD.
        value_usd: f64,
    },
    /// A project was delayed (`delay`).
    Delay {
        /// Stage it is in.
        stage: Status,
        /// Steps added.
        extra_steps: u32,
    },
    /// A project started operating (`completion`).
    Completion {
        /// Nameplate capacity, t/yr.
        capacity_t_per_yr: f64,
    },
    /// A project entered construction (`construction_start`) or ramp-up (`ramp_up_start`).
    StageStart {
        /// The stage entered.
        stage: Status,
        /// Its drawn duration, steps.
        duration_steps: u32,
    },
    /// A random outage struck an asset (`outage`).
    Outage {
        /// Share of capacity lost.
        capacity_lost: f64,
        /// Steps it lasts.
        duration_steps: u32,
    },
    /// A labour or environmental incident struck an asset (`incident`).
    Incident {
        /// Strike, protest or accident.
        kind: IncidentKind,
        /// Share of capacity lost.
        capacity_lost: f64,
        /// Steps it lasts.
        duration_steps: u32,
    },
    /// A plant went idle: its price stayed below its cash cost (`idle`).
    Idle {
        /// Price it faced, USD/t.
        price_usd_per_t: f64,
        /// Its cash cost, USD/t.
        cash_cost_usd_per_t: f64,
        /// Steps of loss before it idled.
        loss_steps: u32,
    },
    /// An idle plant restarted (`restart`).
    Restart {
        /// Price it faced, USD/t.
        price_usd_per_t: f64,
        /// Its cash cost, USD/t.
        cash_cost_usd_per_t: f64,
        /// Restart cost paid, USD.
        restart_cost_usd: f64,
        /// First step it produces again.
        first_output_step: u32,
    },
}

/// The id at index `i` of a list of ids, `?` if there is none (ids are labels of the output only).
fn label(ids: &[String], i: u32) -> &str {
    ids.get(i as usize).map_or("?", String::as_str)
}

impl TermsChange {
    fn write(self, out: &mut String) {
        match self {
            TermsChange::MandateOn => out.push_str("local_processing_mandate=on"),
            TermsChange::MandateOff => out.push_str("local_processing_mandate=off"),
            TermsChange::OreExportTax(t) => {
                let _ = write!(out, "ore_export_tax={t}");
            }
        }
    }
}

impl Event {
    /// The `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Proposal { .. } => "proposal",
            Event::Rejection { .. } => "rejection",
            Event::Approval { .. } => "approval",
            Event::PolicyStart { .. } => "policy_start",
            Event::PolicyEnd { .. } => "policy_end",
            Event::FinanceBudget { .. } => "finance_budget",
            Event::HostTighten { .. } => "host_tighten",
            Event::HostLoosen { .. } => "host_loosen",
            Event::Cancellation { .. } => "cancellation",
            Event::Deferral { .. } => "deferral",
            Event::Resumption { .. } => "resumption",
            Event::Delay { .. } => "delay",
            Event::Completion { .. } => "completion",
            Event::StageStart {
                stage: Status::Construction,
                ..
            } => "construction_start",
            Event::StageStart {
                stage: Status::RampUp,
                ..
            } => "ramp_up_start",
            Event::StageStart { .. } => "permitting_start",
            Event::Outage { .. } => "outage",
            Event::Incident { .. } => "incident",
            Event::Idle { .. } => "idle",
            Event::Restart { .. } => "restart",
        }
    }

    /// The `detail` column (`k=v; k=v`, numbers formatted as `docs/output-format.md` shows).
    pub fn detail(&self, registry: &Registry) -> String {
        let mut d = String::new();
        // Writing to a String cannot fail.
        // A syndicate's financier ids joined by `+` (index order is id order).
        let syndicate = |fs: &[u32]| {
            fs.iter()
                .map(|&i| label(&registry.financiers, i))
                .collect::<Vec<_>>()
                .join("+")
        };
        let _ = match self {
            Event::Proposal {
                npv_usd,
                capex_usd,
                discount_rate,
                finance,
            } => {
                let _ = write!(
                    d,
                    "npv_usd={npv_usd:.0}; capex_usd={capex_usd:.0}; discount_rate={discount_rate:.4}; finance="
                );
                match finance {
                    None => {
                        d.push_str("none");
                        Ok(())
                    }
                    Some(f) => write!(
                        d,
                        "{}:{:.0}; loan_usd={:.0}; grant_usd={:.0}; equity_share={}; floor_usd_per_t={:.0}; insurance_cover={}",
                        syndicate(&f.financiers),
                        f.cost_usd,
                        f.loan_usd,
                        f.grant_usd,
                        f.equity_share,
                        f.floor_usd_per_t,
                        f.insurance_cover
                    ),
                }
            }
            Event::Rejection { p_approve, reason } => {
                write!(d, "p_approve={p_approve:.3}; reason={reason}")
            }
            Event::Approval {
                p_approve,
                state_share,
                finance,
            } => {
                let _ = write!(d, "p_approve={p_approve:.3}");
                match state_share {
                    StateShare::None => {}
                    StateShare::Share(x) => {
                        let _ = write!(d, "; state_share={x}");
                    }
                    StateShare::Waived => d.push_str("; state_share=waived (no state company)"),
                }
                match finance {
                    Some((fs, total)) => write!(d, "; finance={}:{total:.0}", syndicate(fs)),
                    None => Ok(()),
                }
            }
            Event::PolicyStart { policy } | Event::PolicyEnd { policy } => {
                d.push_str(label(&registry.policies, *policy));
                Ok(())
            }
            Event::FinanceBudget {
                financier,
                annual_budget_usd,
                was_usd,
            } => write!(
                d,
                "financier={}; annual_budget_usd={annual_budget_usd}; was={was_usd}",
                label(&registry.financiers, *financier)
            ),
            Event::HostTighten {
                change,
                mineral,
                domestic_processing,
                target,
            } => {
                change.write(&mut d);
                let name = registry
                    .minerals
                    .get(usize::from(mineral.0))
                    .map_or("?", String::as_str);
                write!(
                    d,
                    "; mineral={name}; domestic_processing={domestic_processing:.3}; target={target}"
                )
            }
            Event::HostLoosen {
                change,
                years_without_approval,
            } => {
                change.write(&mut d);
                write!(d, "; years_without_approval={years_without_approval}")
            }
            Event::Cancellation { stage, cause } => match cause {
                CancelCause::Hazard => write!(d, "stage={}", stage.as_str()),
                CancelCause::NegativeValue { value_usd } => write!(
                    d,
                    "stage={}; reason=value of finishing negative; value_usd={value_usd:.0}",
                    stage.as_str()
                ),
            },
            Event::Deferral { stage, value_usd } => {
                write!(d, "stage={}; value_usd={value_usd:.0}", stage.as_str())
            }
            Event::Resumption {
                stage,
                deferred_steps,
                value_usd,
            } => write!(
                d,
                "stage={}; deferred_steps={deferred_steps}; value_usd={value_usd:.0}",
                stage.as_str()
            ),
            Event::Delay { stage, extra_steps } => {
                write!(d, "stage={}; extra_steps={extra_steps}", stage.as_str())
            }
            Event::Completion { capacity_t_per_yr } => {
                write!(d, "capacity_t_per_yr={capacity_t_per_yr}")
            }
            Event::StageStart { duration_steps, .. } => {
                write!(d, "duration_steps={duration_steps}")
            }
            Event::Outage {
                capacity_lost,
                duration_steps,
            } => write!(
                d,
                "capacity_lost={capacity_lost}; duration_steps={duration_steps}"
            ),
            Event::Incident {
                kind,
                capacity_lost,
                duration_steps,
            } => write!(
                d,
                "type={}; capacity_lost={capacity_lost}; duration_steps={duration_steps}",
                kind.as_str()
            ),
            Event::Idle {
                price_usd_per_t,
                cash_cost_usd_per_t,
                loss_steps,
            } => write!(
                d,
                "price_usd_per_t={price_usd_per_t:.6}; cash_cost_usd_per_t={cash_cost_usd_per_t:.6}; \
                 loss_steps={loss_steps}"
            ),
            Event::Restart {
                price_usd_per_t,
                cash_cost_usd_per_t,
                restart_cost_usd,
                first_output_step,
            } => write!(
                d,
                "price_usd_per_t={price_usd_per_t:.6}; cash_cost_usd_per_t={cash_cost_usd_per_t:.6}; \
                 restart_cost_usd={restart_cost_usd:.6}; first_output_step={first_output_step}"
            ),
        };
        d
    }
}

/// Whom an event concerns (the id columns of `events.csv`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Subject {
    /// Asset, if any.
    pub asset: Option<AssetIdx>,
    /// Firm, if any.
    pub firm: Option<FirmIdx>,
    /// Nation, if any.
    pub nation: Option<NationIdx>,
    /// Partner nation, if any.
    pub partner: Option<NationIdx>,
}

impl EventRow {
    /// The row of `events.csv` for a typed event (the one place its text is written).
    pub fn typed(step: u32, who: Subject, event: &Event, registry: &Registry) -> EventRow {
        EventRow {
            step,
            kind: event.kind(),
            asset: who.asset,
            firm: who.firm,
            nation: who.nation,
            partner: who.partner,
            detail: event.detail(registry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The investment core's events keep the `detail` text `docs/output-format.md` documents:
    /// a syndicate's ids joined by `+` in id order, money to the dollar, probabilities to 3
    /// places.
    #[test]
    fn investment_events_write_the_documented_detail_text() {
        let registry = Registry {
            financiers: vec!["dfc".into(), "jbic".into()],
            ..Registry::default()
        };
        let proposal = Event::Proposal {
            npv_usd: 1234.6,
            capex_usd: 5e8,
            discount_rate: 0.09123,
            finance: Some(FinanceTerms {
                financiers: vec![0, 1],
                cost_usd: 1e8,
                loan_usd: 9e7,
                grant_usd: 0.0,
                equity_share: 0.1,
                floor_usd_per_t: 0.0,
                insurance_cover: 0.5,
            }),
        };
        assert_eq!(proposal.kind(), "proposal");
        assert_eq!(
            proposal.detail(&registry),
            "npv_usd=1235; capex_usd=500000000; discount_rate=0.0912; finance=dfc+jbic:100000000; \
             loan_usd=90000000; grant_usd=0; equity_share=0.1; floor_usd_per_t=0; insurance_cover=0.5"
        );
        let unfinanced = Event::Proposal {
            npv_usd: -1.0,
            capex_usd: 2.0,
            discount_rate: 0.1,
            finance: None,
        };
        assert_eq!(
            unfinanced.detail(&registry),
            "npv_usd=-1; capex_usd=2; discount_rate=0.1000; finance=none"
        );
        let rejection = Event::Rejection {
            p_approve: 0.12345,
            reason: "host discretion",
        };
        assert_eq!(rejection.kind(), "rejection");
        assert_eq!(
            rejection.detail(&registry),
            "p_approve=0.123; reason=host discretion"
        );
        let approval = |state_share, finance| Event::Approval {
            p_approve: 0.9,
            state_share,
            finance,
        };
        assert_eq!(
            approval(StateShare::None, None).detail(&registry),
            "p_approve=0.900"
        );
        assert_eq!(
            approval(StateShare::Share(0.51), Some((vec![1], 2.5e7))).detail(&registry),
            "p_approve=0.900; state_share=0.51; finance=jbic:25000000"
        );
        assert_eq!(
            approval(StateShare::Waived, None).detail(&registry),
            "p_approve=0.900; state_share=waived (no state company)"
        );
    }
}

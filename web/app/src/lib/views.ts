// Shapes of the chain's JSON module queries (QueryModule), as the Go
// modules define them: chain/staking/query.go, chain/registry/query.go and
// gatekeeper.go, chain/compute/query.go, chain/contracts/query.go.
// Amounts are decimal strings (u128), identities 0x hex, accounts SS58.
// The SDK parses these answers losslessly (parseJSON): an integer beyond
// 2^53−1 arrives as a bigint. Fields that can get there are typed
// number | bigint (voting power: an int64 up to 2^60); heights, eras and
// counters stay number, as no chain reaches 2^53 of them, and the compute
// module bounds its V, P and share well below (chain/compute params).

export interface ExposureView {
  total: string;
  own: string;
  others: { who: string; value: string }[];
}

export interface ValidatorView {
  stash: string;
  consensus_pubkey: string;
  consensus_address: string;
  /** CometBFT voting power: backing ÷ the power unit, an int64 up to 2^60. */
  power: number | bigint;
  commission: number;
  commission_percent: string;
  points: number;
  exposure: ExposureView | null;
}

export interface ValidatorsView {
  era: number;
  total_power: number | bigint;
  candidates: number;
  nominators: number;
  validators: ValidatorView[];
}

export interface EraView {
  era: number;
  start_height: number;
  start_time: string;
  era_length: number;
  next_election_height: number;
  total_points: number;
  points: { stash: string; points: number }[];
  pending_payouts: number;
  previous?: { era: number; payout: string; total_staked: string; total_points: number };
}

export interface CandidateView {
  stash: string;
  active: string;
  commission: number;
  consensus_pubkey: string;
}

export interface NominatorView {
  stash: string;
  active: string;
  targets: string[] | null;
  submitted_in: number;
}

export interface LedgerView {
  stash: string;
  total: string;
  active: string;
  unlocking: { value: string; era: number }[];
  withdrawable: string;
  payee: string;
  role: 'validator' | 'nominator' | 'idle';
  commission?: number;
  consensus_pubkey?: string;
  targets?: string[];
}

export interface RegistryWorkerView {
  identity: string;
  operator: string;
  tee_kind: string;
  measurement: string;
  tcb_status: string;
  advisory_ids: string[];
  confidence: number;
  registered_at: number;
  attested_at: number;
  expires_at: number;
  stale: boolean;
  simulated: boolean;
  version: string;
  hpke_public_key: string;
  synced_height: number;
  sync_reported_at: number;
}

export interface ComputeWorkerView {
  identity: string;
  operator: string;
  pool_id: number;
  state: string;
  stake: string;
  score: number;
  score_reported_at: number;
  value: number;
  share: number;
  last_heartbeat: number;
  heartbeats: number;
  misses: number;
  rewards_total: string;
  pending_rewards: string;
  slashed_total: string;
  challenge: { height: number; nonce: string; deadline: number } | null;
  bound_at: number;
  computing_since: number;
  cooldown_ends_at: number;
  forced_stop: boolean;
  eligible: boolean;
}

export interface GatekeepersView {
  gatekeepers: { identity: string; index: number; added_at: number }[];
  master_keys: { epoch: number; generator: string; requested_at: number; published_at: number; signing_public_key: string }[];
  current_epoch: number;
}

export interface CodeView {
  code_hash: string;
  size: number;
  uploader: string;
  uploaded_at: number;
}

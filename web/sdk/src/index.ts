// @veil-network/sdk: keys, addresses, transactions and end-to-end
// encrypted confidential-contract calls and queries for Veil, in the
// browser and Node. Every encoding mirrors the Go implementation byte for
// byte; docs/vectors/*.json are the proof (test/).

export {
  VeilError,
  KeyError,
  AddressError,
  AmountError,
  TxError,
  TxTimeoutError,
  ContractError,
  NetworkError,
  NodeError,
  EnvelopeError,
  JSONParseError,
} from './errors.js';
export type { ContractErrorCode, EnvelopeErrorKind, JSONErrorKind } from './errors.js';

export { parseJSON, stringifyJSON, DEFAULT_JSON_MAX_DEPTH, type ParseJSONOptions } from './json.js';

export { toHex, fromHex } from './bytes.js';

export {
  type Scheme,
  type Signer,
  type WipeableSigner,
  DEV_PHRASE,
  DEV_ACCOUNTS,
  signerFromUri,
  sr25519FromSeed,
  ed25519FromSeed,
  generatePhrase,
  validatePhrase,
  parseScheme,
  verifySignature,
  signerAddress,
} from './keys.js';

export { encodeAddress, decodeAddress, isValidAddress, accountId, validatePrefix, SUBSTRATE_PREFIX } from './ss58.js';

export { formatAmount, parseAmount, MAX_AMOUNT } from './amount.js';

export {
  TX_SIGN_DOMAIN,
  DEFAULT_EXPIRY_BLOCKS,
  type PackedMessage,
  type TxMessage,
  type TxBodyFields,
  type FeeParams,
  type DecodedTx,
  packMessage,
  registerMessageTypes,
  typeUrlOf,
  encodeTxBody,
  txSignBytes,
  signTx,
  txHash,
  requiredFee,
  signWithMinimumFee,
  decodeTx,
} from './tx.js';

export { VeilClient, type TxOptions, type AccountInfo, type VeilClientOptions } from './client.js';

export { msgs, type RewardDestination } from './msgs.js';

export {
  Contracts,
  contractIdFor,
  contractAccountId,
  parseContractId,
  encodeArgs,
  type ContractInfo,
  type Receipt,
  type CallResult,
  type CallStage,
  type ContractsOptions,
} from './contracts.js';

export {
  sealCommand,
  sealQuery,
  openCommand,
  openQuery,
  parseEnvelopeHeader,
  recipientKey,
  deriveXWingKeyPair,
  xwingPublicKey,
  keyFingerprint,
  encodeCall,
  encodeQuery,
  callSigningMessage,
  querySigningMessage,
  responseKeySchedule,
  openResponseWithSecret,
  sealResponseWithSecret,
  type SealedQuery,
  type QueryRequest,
  type Call,
  type VerifiedCall,
  type VerifiedQuery,
  type RecipientKey,
  type EnvelopeHeader,
} from './envelope.js';

export { loadNetwork, contractsForNetwork, type DevNetwork } from './network.js';

// Generated types the API hands out, so apps need not import src/gen.
export type { GetStatusResponse, Block, TxResult, GetBlockResponse, GetTxResponse, Event, EventAttribute } from './gen/veil/node/v1/node_pb.js';
export { TxStatus } from './gen/veil/node/v1/node_pb.js';
export type { Message } from '@bufbuild/protobuf';

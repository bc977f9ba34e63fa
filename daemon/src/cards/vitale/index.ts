/** Vitale card concern: the public surface. See docs/cards.md "Vitale". */
export {
  createVitaleService,
  MAX_CACHED_READERS,
  type VitaleReader,
  type VitaleService,
  type VitaleServiceOptions,
} from "./reader.ts";
export {
  createPublicLayoutVitaleReader,
  PUBLIC_LAYOUT_READER_NAME,
  MAX_BENEFICIARIES,
  type PublicLayoutReaderOptions,
} from "./public-reader.ts";
export type { VitaleCardData, VitaleBeneficiary } from "./decode.ts";
export {
  VITALE_AID,
  PUBLIC_BENEFICIARY_LAYOUT,
  vitaleGenerationOf,
  isCpxAtr,
  type VitaleBeneficiaryLayout,
  type VitaleGeneration,
} from "./layout.ts";

/**
 * Imports every module that registers lab card profiles, for the CLI and `--simulate`. Each card
 * issue adds its profile module here (side-effect import: the module calls registerProfile).
 */
import "./profiles.ts";
import "./cards/vitale2/profile.ts";
import "./cards/cps3/profile.ts";
import "./cards/cps4/profile.ts";

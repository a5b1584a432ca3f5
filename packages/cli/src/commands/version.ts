/** The version `logitpack --version` and `doctor` print (the package.json version; a test checks they agree). */
export const VERSION = "0.1.0";

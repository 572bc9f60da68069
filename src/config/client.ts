// Limits and defaults for src/client. Each constant: unit last in the name, and a sentence on why.
export {};

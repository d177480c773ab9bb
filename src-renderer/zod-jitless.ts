import { z } from 'zod';

// zod probes for eval with new Function() when its first schema is made, which our CSP
// (no 'unsafe-eval') reports as a violation. Imported first, before any schema exists.
z.config({ jitless: true });

"""The simulated pilot region: sector systems that drive the real adapters (``samspil
simulate``). The hub itself is started by the composing layer (:mod:`samspil.simulate`)."""

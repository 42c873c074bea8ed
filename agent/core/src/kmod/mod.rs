//! Kernel module index: modules.dep/alias/softdep/builtin, modalias matching, load order (to be written).

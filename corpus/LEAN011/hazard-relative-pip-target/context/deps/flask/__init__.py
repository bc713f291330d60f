# a vendored copy, committed by mistake

"""IEC 60870-5-104 names: ASDU type identifications with the operation each performs in
the control direction, causes of transmission and U-frame functions (IEC 60870-5-101/104)."""

from __future__ import annotations

__all__ = ["CAUSES", "COMMANDS", "TYPES", "U_FUNCTIONS"]

#: type id → name
TYPES: dict[int, str] = {
    1: "M_SP_NA_1", 2: "M_SP_TA_1", 3: "M_DP_NA_1", 4: "M_DP_TA_1", 5: "M_ST_NA_1",
    6: "M_ST_TA_1", 7: "M_BO_NA_1", 8: "M_BO_TA_1", 9: "M_ME_NA_1", 10: "M_ME_TA_1",
    11: "M_ME_NB_1", 12: "M_ME_TB_1", 13: "M_ME_NC_1", 14: "M_ME_TC_1", 15: "M_IT_NA_1",
    16: "M_IT_TA_1", 17: "M_EP_TA_1", 18: "M_EP_TB_1", 19: "M_EP_TC_1", 20: "M_PS_NA_1",
    21: "M_ME_ND_1", 30: "M_SP_TB_1", 31: "M_DP_TB_1", 32: "M_ST_TB_1", 33: "M_BO_TB_1",
    34: "M_ME_TD_1", 35: "M_ME_TE_1", 36: "M_ME_TF_1", 37: "M_IT_TB_1", 38: "M_EP_TD_1",
    39: "M_EP_TE_1", 40: "M_EP_TF_1", 45: "C_SC_NA_1", 46: "C_DC_NA_1", 47: "C_RC_NA_1",
    48: "C_SE_NA_1", 49: "C_SE_NB_1", 50: "C_SE_NC_1", 51: "C_BO_NA_1", 58: "C_SC_TA_1",
    59: "C_DC_TA_1", 60: "C_RC_TA_1", 61: "C_SE_TA_1", 62: "C_SE_TB_1", 63: "C_SE_TC_1",
    64: "C_BO_TA_1", 70: "M_EI_NA_1", 100: "C_IC_NA_1", 101: "C_CI_NA_1", 102: "C_RD_NA_1",
    103: "C_CS_NA_1", 104: "C_TS_NA_1", 105: "C_RP_NA_1", 106: "C_CD_NA_1", 107: "C_TS_TA_1",
    110: "P_ME_NA_1", 111: "P_ME_NB_1", 112: "P_ME_NC_1", 113: "P_AC_NA_1", 120: "F_FR_NA_1",
    121: "F_SR_NA_1", 122: "F_SC_NA_1", 123: "F_LS_NA_1", 124: "F_AF_NA_1", 125: "F_SG_NA_1",
    126: "F_DR_TA_1", 127: "F_SC_NB_1",
}

#: command type id → (value format after the 3-byte IOA, bytes of the element incl. time)
COMMANDS: dict[int, tuple[str, int]] = {
    45: ("B", 1), 46: ("B", 1), 47: ("B", 1), 48: ("<h", 3), 49: ("<h", 3), 50: ("<f", 5),
    51: ("<I", 4), 58: ("B", 8), 59: ("B", 8), 60: ("B", 8), 61: ("<h", 10), 62: ("<h", 10),
    63: ("<f", 12), 64: ("<I", 11),
}

CAUSES: dict[int, str] = {
    1: "periodic", 2: "background_scan", 3: "spontaneous", 4: "initialized", 5: "request",
    6: "activation", 7: "activation_con", 8: "deactivation", 9: "deactivation_con",
    10: "activation_termination", 11: "return_info_remote", 12: "return_info_local",
    13: "file_transfer", 20: "interrogated_by_station",
    **{20 + g: f"interrogated_by_group_{g}" for g in range(1, 17)},
    37: "requested_by_general_counter", **{37 + g: f"requested_by_group_{g}_counter"
                                           for g in range(1, 5)},
    44: "unknown_type_id", 45: "unknown_cause", 46: "unknown_common_address",
    47: "unknown_information_object_address",
}

#: U-frame control octet → function
U_FUNCTIONS: dict[int, str] = {0x07: "startdt_act", 0x0B: "startdt_con", 0x13: "stopdt_act",
                               0x23: "stopdt_con", 0x43: "testfr_act", 0x83: "testfr_con"}

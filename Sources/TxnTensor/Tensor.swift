import COpenBLAS
import CDNNL

// ES module entry: the same objects as the CommonJS entry (index.js).
import binding from './index.js'

export const { OAuthClient, Connection, ResponseBody, callbackPage, generateSealKey, server } = binding
export default binding
